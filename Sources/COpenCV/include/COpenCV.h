#ifndef REINS_COPENCV_H
#define REINS_COPENCV_H
// A plain C interface to the parts of OpenCV Reins uses. Every function catches every C++
// exception: on failure it returns NULL or a negative value, and reins_cv_last_error() on the
// same thread says why. Pixels cross this interface as packed RGB (or gray) rows, top row first.
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The message of the last failure on this thread, or "" when there was none.
const char *reins_cv_last_error(void);

/// OpenCV's version string, e.g. "4.6.0".
const char *reins_cv_version(void);

/// The video I/O backends this OpenCV build has (e.g. "FFMPEG, GSTREAMER, V4L2"), comma separated.
const char *reins_cv_videoio_backends(void);

/// A decoded image: width × height × channels bytes, RGB or gray.
typedef struct reins_cv_image reins_cv_image;

/// Writes `channels` (1 or 3) interleaved 8-bit planes to `path`; the extension picks the format.
int reins_cv_image_write(const char *path, const uint8_t *pixels, int width, int height, int channels);
/// Reads an image file, as RGB, or as gray when `gray` is non-zero.
reins_cv_image *reins_cv_image_read(const char *path, int gray);
// Encodes RGB (or gray) pixels in the format of `extension` (".jpg", ".png") with `quality` (JPEG,
// 0-100) into `out`, up to `capacity` bytes; returns the encoded size, or -1.
long reins_cv_image_encode(const char *extension, const uint8_t *pixels, int width, int height, int channels, int quality,
                           uint8_t *out, size_t capacity);
/// Decodes an encoded image (PNG, JPEG, ...) held in memory.
reins_cv_image *reins_cv_image_decode(const uint8_t *bytes, size_t count, int gray);
void reins_cv_image_shape(const reins_cv_image *image, int *width, int *height, int *channels);
const uint8_t *reins_cv_image_pixels(const reins_cv_image *image);
void reins_cv_image_free(reins_cv_image *image);

typedef struct reins_cv_video_writer reins_cv_video_writer;
/// Opens a video file for writing with a four-character codec code such as "MJPG" or "mp4v".
reins_cv_video_writer *reins_cv_video_writer_open(const char *path, const char *fourcc, double fps, int width, int height);
/// Appends one RGB frame of the size given at open.
int reins_cv_video_writer_write(reins_cv_video_writer *writer, const uint8_t *rgb);
/// Finishes the file and frees the writer.
void reins_cv_video_writer_close(reins_cv_video_writer *writer);

typedef struct reins_cv_video_reader reins_cv_video_reader;
/// Opens a video file or stream URL for reading.
reins_cv_video_reader *reins_cv_video_reader_open(const char *source);
/// Opens a video file or stream URL (http MJPEG, rtsp) through FFmpeg, giving up on connecting
/// after `open_timeout_ms` and on each frame after `read_timeout_ms` (0 keeps OpenCV's 30 s), so
/// a stalled stream fails instead of hanging its reader.
reins_cv_video_reader *reins_cv_video_reader_open_stream(const char *source, int open_timeout_ms, int read_timeout_ms);
/// Opens a V4L2 capture device by index ("0") or node path ("/dev/video2"), asking it for
/// width × height at fps where those are positive (the device may pick the nearest it has;
/// reins_cv_video_reader_info says what it chose).
reins_cv_video_reader *reins_cv_video_reader_open_device(const char *device, int width, int height, double fps);
/// The stream's frame size, rate and frame count (the count is 0 when the container does not say).
void reins_cv_video_reader_info(reins_cv_video_reader *reader, int *width, int *height, double *fps, int *frames);
/// Decodes the next frame into `rgb` (width × height × 3 bytes). Returns 1 for a frame, 0 at the
/// end of the stream, negative on error.
int reins_cv_video_reader_read(reins_cv_video_reader *reader, uint8_t *rgb, size_t capacity);
/// Decodes the next frame into `rgb` and says its size in `width` and `height`, so a source whose
/// size changed is noticed. Returns 1 for a frame, 0 at the end of the stream, -2 when `capacity`
/// is too small for it (nothing copied; grow the buffer to width × height × 3), -1 on error.
int reins_cv_video_reader_next(reins_cv_video_reader *reader, uint8_t *rgb, size_t capacity, int *width, int *height);
/// Seeks a file back to its first frame; returns 0, or -1 when the source cannot seek.
int reins_cv_video_reader_rewind(reins_cv_video_reader *reader);
void reins_cv_video_reader_close(reins_cv_video_reader *reader);

/// Crops the rectangle (x, y, crop_width, crop_height) out of an RGB frame of width × height,
/// then resizes it with area averaging (INTER_AREA, which does not alias when shrinking) into
/// `out`, RGB, out_width × out_height. Writes straight into `out`: nothing is allocated besides
/// OpenCV's internal buffers. Returns 0, or -1 when the rectangle leaves the frame.
int reins_cv_crop_resize(const uint8_t *rgb, int width, int height, int x, int y, int crop_width, int crop_height,
                         uint8_t *out, int out_width, int out_height);

// Drawing on an RGB image in place (height × width × 3), for plots. Colours are RGB.
// A polyline through `count` points given as x0, y0, x1, y1, …; antialiased.
int reins_cv_draw_polyline(uint8_t *rgb, int width, int height, const int *points, int count, int red, int green, int blue, int thickness);
// Text with its baseline's left end at (x, y), in OpenCV's Hershey simplex font.
int reins_cv_draw_text(uint8_t *rgb, int width, int height, const char *text, int x, int y, double scale, int red, int green, int blue, int thickness);

#ifdef __cplusplus
}
#endif
#endif

