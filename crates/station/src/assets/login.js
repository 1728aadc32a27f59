// @ts-check
// The console's login page: staff id and password, then the console.

import { api, messageOf, statusOf } from './api.js';
import { $, showError } from './dom.js';

/** @typedef {import('../../../api/bindings/api').LoginRequest} LoginRequest */

function initLogin() {
  const form = $('login-form', HTMLFormElement);
  const button = $('login-button', HTMLButtonElement);
  const staffInput = $('staff', HTMLInputElement);
  const passwordInput = $('password', HTMLInputElement);
  const say = (/** @type {string} */ en, /** @type {string} */ zh) => {
    showError($('login-error'), en);
    showError($('login-error-zh'), zh);
  };

  // Already logged in (e.g. a second tab): straight to the console.
  fetch('/api/session', { credentials: 'same-origin', cache: 'no-store' })
    .then((r) => {
      if (r.ok) location.assign('/');
    })
    .catch(() => {});

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const staff = staffInput.value.trim();
    const password = passwordInput.value;
    if (!staff || !password) {
      say('Enter your staff id and password', '请输入工号和密码');
      return;
    }
    say('', '');
    button.disabled = true;
    try {
      /** @type {LoginRequest} */
      const login = { staff, password };
      await api('POST', '/api/login', login);
      location.assign('/');
    } catch (e) {
      const status = statusOf(e);
      if (status === 401) say('Wrong staff id or password', '工号或密码错误');
      else if (status === 429) say(messageOf(e), '登录失败次数过多，请稍后再试');
      else say(messageOf(e), '登录失败');
      passwordInput.value = '';
      passwordInput.focus();
    } finally {
      button.disabled = false;
    }
  });
}

document.addEventListener('DOMContentLoaded', initLogin);
