#include "COpenCV.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <opencv2/videoio/registry.hpp>

#include <algorithm>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace {

thread_local std::string last_error;

void fail(const std::string &message) { last_error = message; }

/// Runs `body`, turning any exception into a failure that returns `failed`.
template <typename Result, typename Body>
Result guarded(Result failed, Body body) {
    try {
        last_error.clear();
        return body();
    } catch (const cv::Exception &error) {
        fail(error.what());
    } catch (const std::exception &error) {
        fail(error.what());
    } catch (...) {
        fail("an unknown C++ exception");
    }
    return failed;
}

}  // namespace

struct reins_cv_image {
    cv::Mat pixels;
};

struct reins_cv_video_writer {
    cv::VideoWriter writer;
    cv::Size size;
    cv::Mat bgr;
};

struct reins_cv_video_reader {
    cv::VideoCapture capture;
    cv::Mat bgr;
};

extern "C" {

const char *reins_cv_last_error(void) { return last_error.c_str(); }

const char *reins_cv_version(void) { return CV_VERSION; }

const char *reins_cv_videoio_backends(void) {
    static thread_local std::string names;
    return guarded<const char *>("", [] {
        names.clear();
        for (auto backend : cv::videoio_registry::getBackends()) {
            if (!names.empty()) names += ", ";
            names += cv::videoio_registry::getBackendName(backend);
        }
        return names.c_str();
    });
}

static reins_cv_image *to_image(cv::Mat decoded, const std::string &what) {
    if (decoded.empty()) {
        fail("could not decode " + what + " (missing, unreadable or not an image)");
        return nullptr;
    }
    auto *image = new reins_cv_image;
    if (decoded.channels() == 3) {
        cv::cvtColor(decoded, image->pixels, cv::COLOR_BGR2RGB);
    } else {
        image->pixels = decoded;
    }
    return image;
}

// RGB (or gray) pixels as the BGR matrix OpenCV's encoders expect, converted into a matrix of its
// own (the caller's pixels are read-only); false, with the error set, for an unsupported layout.
static bool opencvOrder(const uint8_t *pixels, int width, int height, int channels, cv::Mat &ordered) {
    if (channels != 1 && channels != 3) {
        fail("an image needs 1 or 3 channels, not " + std::to_string(channels));
        return false;
    }
    cv::Mat source(height, width, channels == 3 ? CV_8UC3 : CV_8UC1, const_cast<uint8_t *>(pixels));
    if (channels == 3) {
        cv::cvtColor(source, ordered, cv::COLOR_RGB2BGR);
    } else {
        ordered = source;
    }
    return true;
}

int reins_cv_image_write(const char *path, const uint8_t *pixels, int width, int height, int channels) {
    return guarded(-1, [&] {
        cv::Mat encoded;
        if (!opencvOrder(pixels, width, height, channels, encoded)) return -1;
        if (!cv::imwrite(path, encoded)) {
            fail(std::string("could not write ") + path + " (check the folder exists and the extension names a format)");
            return -1;
        }
        return 0;
    });
}

long reins_cv_image_encode(const char *extension, const uint8_t *pixels, int width, int height, int channels, int quality,
                           uint8_t *out, size_t capacity) {
    return guarded(-1L, [&]() -> long {
        cv::Mat ordered;
        if (!opencvOrder(pixels, width, height, channels, ordered)) return -1;
        std::vector<uchar> buffer;
        if (!cv::imencode(extension, ordered, buffer, {cv::IMWRITE_JPEG_QUALITY, quality})) {
            fail(std::string("could not encode as ") + extension);
            return -1;
        }
        if (buffer.size() > capacity) {
            fail("the encoded image (" + std::to_string(buffer.size()) + " bytes) exceeds the buffer");
            return -1;
        }
        std::copy(buffer.begin(), buffer.end(), out);
        return static_cast<long>(buffer.size());
    });
}

reins_cv_image *reins_cv_image_read(const char *path, int gray) {
    return guarded<reins_cv_image *>(nullptr, [&] {
        return to_image(cv::imread(path, gray ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR), path);
    });
}

reins_cv_image *reins_cv_image_decode(const uint8_t *bytes, size_t count, int gray) {
    return guarded<reins_cv_image *>(nullptr, [&] {
        cv::Mat buffer(1, (int)count, CV_8UC1, const_cast<uint8_t *>(bytes));
        return to_image(cv::imdecode(buffer, gray ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR),
                        std::to_string(count) + " bytes");
    });
}

void reins_cv_image_shape(const reins_cv_image *image, int *width, int *height, int *channels) {
    *width = image->pixels.cols;
    *height = image->pixels.rows;
    *channels = image->pixels.channels();
}

const uint8_t *reins_cv_image_pixels(const reins_cv_image *image) {
    // cvtColor and imread always produce continuous matrices.
    return image->pixels.ptr<uint8_t>(0);
}

void reins_cv_image_free(reins_cv_image *image) { delete image; }

reins_cv_video_writer *reins_cv_video_writer_open(const char *path, const char *fourcc, double fps, int width,
                                                  int height) {
    return guarded<reins_cv_video_writer *>(nullptr, [&]() -> reins_cv_video_writer * {
        if (std::string(fourcc).size() != 4) {
            fail(std::string("a codec is four characters, like MJPG or mp4v, not \"") + fourcc + "\"");
            return nullptr;
        }
        auto *video = new reins_cv_video_writer;
        video->size = cv::Size(width, height);
        int code = cv::VideoWriter::fourcc(fourcc[0], fourcc[1], fourcc[2], fourcc[3]);
        if (!video->writer.open(path, cv::CAP_FFMPEG, code, fps, video->size, true)) {
            delete video;
            fail(std::string("could not open ") + path + " for writing with codec " + fourcc +
                 " (check the folder exists and the codec suits the container: MJPG for .avi, mp4v for .mp4)");
            return nullptr;
        }
        return video;
    });
}

int reins_cv_video_writer_write(reins_cv_video_writer *video, const uint8_t *rgb) {
    return guarded(-1, [&] {
        cv::Mat frame(video->size, CV_8UC3, const_cast<uint8_t *>(rgb));
        cv::cvtColor(frame, video->bgr, cv::COLOR_RGB2BGR);
        video->writer.write(video->bgr);
        return 0;
    });
}

void reins_cv_video_writer_close(reins_cv_video_writer *video) {
    guarded(0, [&] {
        video->writer.release();
        return 0;
    });
    delete video;
}

reins_cv_video_reader *reins_cv_video_reader_open(const char *source) {
    return reins_cv_video_reader_open_stream(source, 0, 0);
}

reins_cv_video_reader *reins_cv_video_reader_open_stream(const char *source, int open_timeout_ms, int read_timeout_ms) {
    return guarded<reins_cv_video_reader *>(nullptr, [&]() -> reins_cv_video_reader * {
        std::vector<int> params;
        if (open_timeout_ms > 0) params.insert(params.end(), {cv::CAP_PROP_OPEN_TIMEOUT_MSEC, open_timeout_ms});
        if (read_timeout_ms > 0) params.insert(params.end(), {cv::CAP_PROP_READ_TIMEOUT_MSEC, read_timeout_ms});
        auto video = std::make_unique<reins_cv_video_reader>();
        if (!video->capture.open(source, cv::CAP_FFMPEG, params)) {
            fail(std::string("could not open ") + source + " (missing file, unsupported codec or unreachable URL)");
            return nullptr;
        }
        return video.release();
    });
}

reins_cv_video_reader *reins_cv_video_reader_open_device(const char *device, int width, int height, double fps) {
    return guarded<reins_cv_video_reader *>(nullptr, [&]() -> reins_cv_video_reader * {
        std::string name(device);
        bool index = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
        auto video = std::make_unique<reins_cv_video_reader>();
        bool opened = index ? video->capture.open(std::stoi(name), cv::CAP_V4L2) : video->capture.open(name, cv::CAP_V4L2);
        if (!opened) {
            fail("could not open camera " + name +
                 " (check it is plugged in, `reins cameras` lists it, your user is in the video group, and no other program holds it)");
            return nullptr;
        }
        if (width > 0) video->capture.set(cv::CAP_PROP_FRAME_WIDTH, width);
        if (height > 0) video->capture.set(cv::CAP_PROP_FRAME_HEIGHT, height);
        if (fps > 0) video->capture.set(cv::CAP_PROP_FPS, fps);
        return video.release();
    });
}

void reins_cv_video_reader_info(reins_cv_video_reader *video, int *width, int *height, double *fps, int *frames) {
    guarded(0, [&] {
        *width = (int)video->capture.get(cv::CAP_PROP_FRAME_WIDTH);
        *height = (int)video->capture.get(cv::CAP_PROP_FRAME_HEIGHT);
        *fps = video->capture.get(cv::CAP_PROP_FPS);
        double count = video->capture.get(cv::CAP_PROP_FRAME_COUNT);
        *frames = count > 0 ? (int)count : 0;
        return 0;
    });
}

int reins_cv_video_reader_read(reins_cv_video_reader *video, uint8_t *rgb, size_t capacity) {
    int width = 0, height = 0;
    int status = reins_cv_video_reader_next(video, rgb, capacity, &width, &height);
    return status == -2 ? -1 : status;
}

int reins_cv_video_reader_next(reins_cv_video_reader *video, uint8_t *rgb, size_t capacity, int *width, int *height) {
    return guarded(-1, [&] {
        *width = 0;
        *height = 0;
        if (!video->capture.read(video->bgr) || video->bgr.empty()) return 0;
        *width = video->bgr.cols;
        *height = video->bgr.rows;
        size_t needed = video->bgr.total() * 3;
        if (capacity < needed) {
            fail("the frame needs " + std::to_string(needed) + " bytes but the buffer holds " +
                 std::to_string(capacity));
            return -2;
        }
        // Convert straight into the caller's buffer: no intermediate copy.
        cv::Mat out(video->bgr.rows, video->bgr.cols, CV_8UC3, rgb);
        cv::cvtColor(video->bgr, out, cv::COLOR_BGR2RGB);
        return 1;
    });
}

int reins_cv_video_reader_rewind(reins_cv_video_reader *video) {
    return guarded(-1, [&] {
        if (!video->capture.set(cv::CAP_PROP_POS_FRAMES, 0)) {
            fail("this source cannot seek back to its start");
            return -1;
        }
        return 0;
    });
}

void reins_cv_video_reader_close(reins_cv_video_reader *video) { delete video; }

int reins_cv_crop_resize(const uint8_t *rgb, int width, int height, int x, int y, int crop_width, int crop_height,
                         uint8_t *out, int out_width, int out_height) {
    return guarded(-1, [&] {
        if (x < 0 || y < 0 || crop_width <= 0 || crop_height <= 0 || x + crop_width > width || y + crop_height > height) {
            fail("the crop x " + std::to_string(x) + ", y " + std::to_string(y) + ", " + std::to_string(crop_width) + "x" +
                 std::to_string(crop_height) + " leaves the " + std::to_string(width) + "x" + std::to_string(height) + " frame");
            return -1;
        }
        if (out_width <= 0 || out_height <= 0) {
            fail("an output size needs a positive width and height, not " + std::to_string(out_width) + "x" +
                 std::to_string(out_height));
            return -1;
        }
        cv::Mat frame(height, width, CV_8UC3, const_cast<uint8_t *>(rgb));
        cv::Mat region = frame(cv::Rect(x, y, crop_width, crop_height));
        // A header over the caller's buffer: resize and copyTo write into it, since size and type match.
        cv::Mat resized(out_height, out_width, CV_8UC3, out);
        if (region.size() == resized.size()) {
            region.copyTo(resized);
        } else {
            cv::resize(region, resized, resized.size(), 0, 0, cv::INTER_AREA);
        }
        return 0;
    });
}

}  // extern "C"

int reins_cv_draw_polyline(uint8_t *rgb, int width, int height, const int *points, int count, int red, int green, int blue, int thickness) {
    return guarded(-1, [&] {
        cv::Mat image(height, width, CV_8UC3, rgb);
        std::vector<cv::Point> line;
        line.reserve(count);
        for (int index = 0; index < count; index++) line.emplace_back(points[2 * index], points[2 * index + 1]);
        cv::polylines(image, line, false, cv::Scalar(red, green, blue), thickness, cv::LINE_AA);
        return 0;
    });
}

int reins_cv_draw_text(uint8_t *rgb, int width, int height, const char *text, int x, int y, double scale, int red, int green, int blue, int thickness) {
    return guarded(-1, [&] {
        cv::Mat image(height, width, CV_8UC3, rgb);
        cv::putText(image, text, cv::Point(x, y), cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(red, green, blue), thickness, cv::LINE_AA);
        return 0;
    });
}
