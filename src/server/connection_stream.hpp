#pragma once
// The byte stream of one client connection, as cpp-httplib's request parser reads it.
// Replaces the library's own socket stream so that keygate controls what 0.11.4 does not:
// one deadline for a whole request head (slow clients), a cap on header bytes, reads that
// wake on shutdown, and one write per response (the library writes the status line,
// headers and body separately; with Nagle's algorithm that costs a delayed-ACK wait).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <httplib.h>
#include <memory>
#include <string>
#include <string_view>

namespace keygate {

/// Timeouts and caps of one connection.
struct StreamLimits {
    std::chrono::milliseconds read_timeout{5'000};    ///< one read waits at most this long
    std::chrono::milliseconds write_timeout{5'000};   ///< one write waits at most this long
    std::chrono::milliseconds header_timeout{10'000}; ///< a whole request line + headers
    std::chrono::milliseconds body_timeout{30'000};   ///< a whole request body
    std::chrono::milliseconds drain_timeout{2'000};   ///< reads still allowed after shutdown
    std::size_t max_header_bytes = 256 * 1024;        ///< reading a head beyond this fails (400)
};

/// A buffered stream over a connected socket it does not own. Used by one thread at a time.
class ConnectionStream final : public httplib::Stream {
  public:
    /// `stop_fd` becomes readable when the server stops (an eventfd that stays readable).
    ConnectionStream(int fd, int stop_fd, const StreamLimits& limits, std::string remote_ip,
                     int remote_port, std::string local_ip, int local_port);

    bool is_readable() const override;
    bool is_writable() const override;
    ssize_t read(char* ptr, size_t size) override;
    ssize_t write(const char* ptr, size_t size) override;
    void get_remote_ip_and_port(std::string& ip, int& port) const override;
    void get_local_ip_and_port(std::string& ip, int& port) const override;
    socket_t socket() const override { return fd_; }

    /// How waiting for the next request ended.
    enum class Wait { request, idle_timeout, stopping };

    /// Waits up to `idle` for the first byte of a request (at once when one is buffered).
    /// Checks `give_up()` every second and ends with idle_timeout when it returns true.
    /// When the server is stopping, a request already sent is still served.
    Wait wait_for_request(std::chrono::milliseconds idle, const std::function<bool()>& give_up);

    /// Starts a request head: the header deadline and byte cap apply from now.
    void begin_request();
    /// The head is parsed: from now on reads are body reads.
    void begin_body();
    /// The bytes read between begin_request() and begin_body(): the raw request head as
    /// cpp-httplib read it (it reads a head byte by byte, never beyond its empty line).
    std::string_view raw_head() const { return head_text_; }
    /// Sends everything written so far. False when the connection failed.
    bool flush();
    /// True after a failed read or write.
    bool failed() const { return failed_; }
    /// Reads and discards what the client still sends, for a short while, so that closing
    /// the socket does not reset the connection before the client read our response.
    void drain_before_close();

    /// How one recv() without waiting ended.
    enum class Fill { data, closed, again };
    /// One recv() into the empty input buffer, without waiting (call only when buffered()
    /// is empty).
    Fill fill_now();
    /// Drops the first `n` buffered bytes (a request head the caller parsed itself).
    void consume(std::size_t n) { in_begin_ += std::min(n, in_end_ - in_begin_); }
    /// The bytes received and not read yet.
    std::string_view buffered() const { return {in_.get() + in_begin_, in_end_ - in_begin_}; }
    /// With `waiting` false (the event loop's mode) the stream never waits: a read with
    /// nothing buffered tries one recv() and fails when nothing has arrived. True (the
    /// default) is a connection thread's mode, with the deadlines of StreamLimits.
    void set_waiting(bool waiting) { waiting_ = waiting; }
    /// How a flush without waiting ended.
    enum class FlushNow { done, would_block, failed };
    /// Sends what was written as far as the socket takes it now; the rest stays buffered
    /// for a later flush() (would_block).
    FlushNow flush_now();

  private:
    enum class Ready { yes, no, stop };
    Ready poll_readable(std::chrono::steady_clock::time_point deadline, bool watch_stop) const;
    bool wait_readable() const;

    int fd_;
    int stop_fd_;
    StreamLimits limits_;
    std::string remote_ip_;
    int remote_port_;
    std::string local_ip_;
    int local_port_;

    std::unique_ptr<char[]> in_;
    std::size_t in_begin_ = 0;
    std::size_t in_end_ = 0;
    std::string out_;

    bool in_head_ = false;
    std::size_t head_bytes_ = 0;
    std::string head_text_;
    std::chrono::steady_clock::time_point phase_deadline_{};
    mutable bool stop_seen_ = false;
    mutable std::chrono::steady_clock::time_point stop_deadline_{};
    mutable bool failed_ = false;
    bool waiting_ = true;
};

} // namespace keygate
