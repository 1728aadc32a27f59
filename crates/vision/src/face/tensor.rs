//! Turning image crops into model input tensors: channel order, layout and normalisation are
//! the facts each model was trained with, so each model states them as a [`Normalisation`].

use image::RgbImage;

use super::align::{warp_rows, Affine, Border};

/// Colour channel order a model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channels {
    Rgb,
    Bgr,
}

/// Memory layout of a batch of images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// [batch, channel, height, width]
    Nchw,
    /// [batch, height, width, channel]
    Nhwc,
}

/// `value = (pixel − mean) / std`, per the model's training recipe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalisation {
    pub channels: Channels,
    pub layout: Layout,
    pub mean: f32,
    pub std: f32,
}

impl Normalisation {
    /// The tensor shape of `batch` images of `width`×`height`.
    pub fn shape(&self, batch: usize, width: u32, height: u32) -> [usize; 4] {
        let (w, h) = (width as usize, height as usize);
        match self.layout {
            Layout::Nchw => [batch, 3, h, w],
            Layout::Nhwc => [batch, h, w, 3],
        }
    }

    /// Appends one image to a batch buffer.
    pub fn push(&self, img: &RgbImage, out: &mut Vec<f32>) {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let start = out.len();
        out.resize(start + 3 * w * h, 0.0);
        if w == 0 {
            return;
        }
        let (pixels, _) = img.as_raw().as_chunks::<3>();
        for (y, row) in pixels.chunks_exact(w).enumerate() {
            self.pack_row(row, y, h, &mut out[start..]);
        }
    }

    /// A one-image tensor of `source` sampled through `to_source` into `width`×`height`
    /// ([`warp_rows`]): sampling and normalising in one pass, with no intermediate image.
    pub fn warped(&self, source: &RgbImage, to_source: &Affine, width: u32, height: u32, border: Border) -> (Vec<usize>, Vec<f32>) {
        let mut data = vec![0.0; 3 * width as usize * height as usize];
        warp_rows(source, to_source, width, height, border, |y, row| self.pack_row(row, y, height as usize, &mut data));
        (self.shape(1, width, height).to_vec(), data)
    }

    /// Writes row `y` of an image `height` rows tall into `image`, that image's slot
    /// (3 · width · height values, width = `row.len()`) of a batch tensor.
    fn pack_row(&self, row: &[[u8; 3]], y: usize, height: usize, image: &mut [f32]) {
        let width = row.len();
        let scale = 1.0 / self.std;
        let order: [usize; 3] = match self.channels {
            Channels::Rgb => [0, 1, 2],
            Channels::Bgr => [2, 1, 0],
        };
        match self.layout {
            Layout::Nhwc => {
                for (out, p) in image[3 * y * width..3 * (y + 1) * width].chunks_exact_mut(3).zip(row) {
                    for (o, c) in out.iter_mut().zip(order) {
                        *o = (p[c] as f32 - self.mean) * scale;
                    }
                }
            }
            Layout::Nchw => {
                for (k, c) in order.into_iter().enumerate() {
                    let start = (k * height + y) * width;
                    for (o, p) in image[start..start + width].iter_mut().zip(row) {
                        *o = (p[c] as f32 - self.mean) * scale;
                    }
                }
            }
        }
    }

    /// A batch tensor of equally sized images.
    pub fn batch(&self, images: &[RgbImage]) -> (Vec<usize>, Vec<f32>) {
        let (w, h) = images.first().map_or((0, 0), |i| (i.width(), i.height()));
        let mut data = Vec::with_capacity(images.len() * 3 * (w * h) as usize);
        for img in images {
            self.push(img, &mut data);
        }
        (self.shape(images.len(), w, h).to_vec(), data)
    }
}

/// Grey level as OpenCV's `BGR2GRAY` computes it.
pub fn luma(p: &image::Rgb<u8>) -> f32 {
    0.299 * p.0[0] as f32 + 0.587 * p.0[1] as f32 + 0.114 * p.0[2] as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn layouts_and_channel_orders() {
        let img = RgbImage::from_fn(2, 1, |x, _| if x == 0 { Rgb([10, 20, 30]) } else { Rgb([40, 50, 60]) });
        let bgr_nchw = Normalisation { channels: Channels::Bgr, layout: Layout::Nchw, mean: 0.0, std: 10.0 };
        assert_eq!(bgr_nchw.batch(std::slice::from_ref(&img)), (vec![1, 3, 1, 2], vec![3.0, 6.0, 2.0, 5.0, 1.0, 4.0]));
        let rgb_nhwc = Normalisation { channels: Channels::Rgb, layout: Layout::Nhwc, mean: 10.0, std: 1.0 };
        assert_eq!(rgb_nhwc.batch(&[img]), (vec![1, 1, 2, 3], vec![0.0, 10.0, 20.0, 30.0, 40.0, 50.0]));
    }

    #[test]
    fn a_warped_tensor_is_the_warped_image_packed() {
        let img = RgbImage::from_fn(50, 31, |x, y| Rgb([(x * 5) as u8, (y * 8) as u8, (x * y) as u8]));
        let (to_source, border) = (Affine::scale_translate(1.7, 1.7, -4.0, 2.5), Border::Constant([127, 127, 127]));
        for norm in [
            Normalisation { channels: Channels::Rgb, layout: Layout::Nchw, mean: 127.0, std: 128.0 },
            Normalisation { channels: Channels::Bgr, layout: Layout::Nhwc, mean: 127.5, std: 127.5 },
        ] {
            let warped = crate::face::align::warp(&img, &to_source, 32, 24, border);
            assert_eq!(norm.warped(&img, &to_source, 32, 24, border), norm.batch(&[warped]), "{norm:?}");
        }
    }
}
