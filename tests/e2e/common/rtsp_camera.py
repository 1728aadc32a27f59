"""An RTSP camera on loopback for the ingest tests: GStreamer's RTSP server (Debian's
gir1.2-gst-rtsp-server-1.0, run by /usr/bin/python3 for its python3-gi) serving a folder
of JPEG frames, looped, as RTP/JPEG at rtsp://127.0.0.1:PORT/lane.

Usage: rtsp_camera.py PATTERN FPS PORT, PATTERN like /tmp/x/frame_%04d.jpg; PORT 0 picks a
free port. Prints the port it serves on, then serves until killed.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    pattern, fps, port = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    # Decoded and encoded again: whatever the frames' JPEG flavour, RTP/JPEG gets baseline.
    factory.set_launch(
        f'( multifilesrc location="{pattern}" loop=true caps="image/jpeg,framerate={fps}/1" '
        "! jpegdec ! videoconvert ! jpegenc ! rtpjpegpay name=pay0 pt=26 )"
    )
    server.get_mount_points().add_factory("/lane", factory)
    if server.attach(None) == 0:
        sys.exit(f"rtsp_camera: cannot listen on 127.0.0.1:{port}")
    print(server.get_bound_port(), flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
