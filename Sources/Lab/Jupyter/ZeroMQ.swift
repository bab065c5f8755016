import CJupyter
import Foundation

// ZeroMQ, as much of it as a Jupyter kernel needs: a context, sockets bound to the connection
// file's ports, multipart messages sent and received, and a poll with a timeout. Each socket is used
// by one thread at a time (iopub, shared by the execute and control threads, behind a lock).

struct ZMQError: Error, CustomStringConvertible {
    let description: String
    init(_ what: String) { description = "\(what): \(String(cString: zmq_strerror(zmq_errno())))" }
}

final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    init() { handle = zmq_ctx_new() }
    deinit { zmq_ctx_term(handle) }
}

final class ZMQSocket: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    private let lock = NSLock()

    init(_ context: ZMQContext, type: Int32) throws {
        guard let h = zmq_socket(context.handle, type) else { throw ZMQError("zmq_socket") }
        handle = h
        var linger: Int32 = 0  // on close, drop what is unsent: a shutdown must not hang
        zmq_setsockopt(handle, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size)
    }

    func close() { zmq_close(handle) }

    func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError("cannot bind \(endpoint)") }
    }

    func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError("cannot connect \(endpoint)") }
    }

    /// Sends the frames as one multipart message.
    func send(_ frames: [Data]) throws {
        lock.lock()
        defer { lock.unlock() }
        for (i, frame) in frames.enumerated() {
            let flags = i < frames.count - 1 ? ZMQ_SNDMORE : 0
            let sent = frame.withUnsafeBytes { raw in zmq_send(handle, raw.baseAddress, raw.count, flags) }
            guard sent >= 0 else { throw ZMQError("zmq_send") }
        }
    }

    /// Receives one multipart message (blocking), or nil if the call was interrupted.
    func receive() -> [Data]? {
        var frames: [Data] = []
        while true {
            var message = zmq_msg_t()
            zmq_msg_init(&message)
            defer { zmq_msg_close(&message) }
            guard zmq_msg_recv(&message, handle, 0) >= 0 else { return nil }
            frames.append(Data(bytes: zmq_msg_data(&message), count: zmq_msg_size(&message)))
            var more: Int32 = 0
            var size = MemoryLayout<Int32>.size
            zmq_getsockopt(handle, ZMQ_RCVMORE, &more, &size)
            if more == 0 { return frames }
        }
    }

    /// Whether a message is waiting, after at most `milliseconds`.
    func poll(milliseconds: Int) -> Bool {
        var item = zmq_pollitem_t(socket: handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        return zmq_poll(&item, 1, milliseconds) > 0 && item.revents & Int16(ZMQ_POLLIN) != 0
    }
}

/// Which of several sockets has a message, after at most `milliseconds` (nil: none).
func pollAny(_ sockets: [ZMQSocket], milliseconds: Int) -> Int? {
    var items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
    guard zmq_poll(&items, Int32(items.count), milliseconds) > 0 else { return nil }
    return items.firstIndex { $0.revents & Int16(ZMQ_POLLIN) != 0 }
}

/// HMAC-SHA256 as lowercase hex (the signature Jupyter puts in every message); "" for an empty key.
func hmacSHA256Hex(key: Data, _ parts: [Data]) -> String {
    guard !key.isEmpty else { return "" }
    let data = parts.reduce(Data(), +)
    var out = [UInt8](repeating: 0, count: 32)
    let status = key.withUnsafeBytes { k in
        data.withUnsafeBytes { d in
            lab_hmac_sha256(
                k.bindMemory(to: UInt8.self).baseAddress, k.count, d.bindMemory(to: UInt8.self).baseAddress, d.count, &out)
        }
    }
    precondition(status == 0, "HMAC-SHA256 failed")
    return out.map { String(format: "%02x", $0) }.joined()
}
