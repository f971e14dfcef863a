import ReinsCore

/// The serial side both servo drivers share: the line, one reusable send buffer and one receive
/// buffer, per-transaction timeouts derived from the wire time, and the fault counters.
final class ServoTransport {
    let line: SerialLine
    let baud: Int
    /// The servos' configured return delay (the reply waits this long after the request).
    let returnDelay: Duration
    /// Added to every timeout for the adapter's USB latency and the host's scheduling.
    var margin: Duration
    var maxRetries: Int
    var statistics = BusStatistics()
    /// The packet being sent; builders refill it in place.
    var packet: [UInt8]
    private var receiveBuffer: [UInt8]

    init(line: SerialLine, baud: Int, returnDelay: Duration, margin: Duration, maxRetries: Int) {
        self.line = line
        self.baud = baud
        self.returnDelay = returnDelay
        self.margin = margin
        self.maxRetries = maxRetries
        packet = []
        packet.reserveCapacity(1024)
        receiveBuffer = [UInt8](repeating: 0, count: 1024)
    }

    /// The time a transaction may take: bytes on the wire both ways at 10 bits each (8N1), one
    /// return delay per reply, and the margin.
    func timeout(sentBytes: Int, replyBytes: Int, replies: Int) -> Duration {
        .nanoseconds(Int64(sentBytes + replyBytes) * 10_000_000_000 / Int64(baud)) + returnDelay * replies + margin
    }

    /// Drops stale input (a late reply to an earlier request), then sends `packet`. Realtime:
    /// allocates nothing, and never waits on the kernel's tty worker (see `SerialLine.discardInput`).
    func send() throws(MotorBusError) {
        _ = receiveBuffer.withUnsafeMutableBytes { line.discardInput(using: $0) }
        do {
            try packet.withUnsafeBytes { raw in Result { () throws(HardwareError) in try line.write(raw) } }.get()
        } catch {
            throw .port(error.description)
        }
    }

    /// Reads what has arrived into `decode`, waiting until `deadline`; false when nothing came in time.
    /// Realtime: allocates nothing.
    func receive(until deadline: ContinuousClock.Instant, into decode: (UnsafeBufferPointer<UInt8>) -> Void) throws(MotorBusError) -> Bool {
        let count: Int
        do {
            count = try receiveBuffer.withUnsafeMutableBytes { raw in
                Result { () throws(HardwareError) in try line.read(into: raw, until: deadline) }
            }.get()
        } catch {
            throw .port(error.description)
        }
        guard count > 0 else { return false }
        receiveBuffer.withUnsafeBufferPointer { decode(UnsafeBufferPointer(rebasing: $0[0..<count])) }
        return true
    }
}

extension MotorBus {
    /// The name of the motor with `id`, for messages; "id N" for a motor the bus was not told of.
    func motorName(_ id: UInt8) -> String {
        motors.first { $0.id == id }?.name ?? "motor \(id)"
    }
}

/// A status packet's verdict, as both drivers need it.
struct StatusReply {
    var id: UInt8
    /// Why the servo refused the instruction, when it did (not transient: never retried).
    var refusal: String?
    /// A hardware fault the servo reports alongside its reply.
    var alert: String?
}

/// A packet that failed its CRC or checksum, or was malformed.
struct CorruptPacket: Error {
    var id: UInt8
}

/// What the transport needs of a protocol's decoder.
protocol StatusPacketDecoder {
    mutating func reset()
    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>)
    /// The next status packet with its parameters, nil until more bytes arrive.
    mutating func nextStatus(parameters: inout [UInt8]) throws(CorruptPacket) -> StatusReply?
}

extension ServoTransport {
    /// One transaction with retries: send `packet`, then take `replies` status packets, the n-th
    /// from `idAt(n)` with `parameterCount` bytes, handing each to `handle`. Timeouts and corrupt
    /// replies are retried and counted; a refusal is thrown at once. Returns the first hardware
    /// alert seen, for the driver to report. Pings pass `retrying: false`: silence there means
    /// no servo, not a fault. Realtime: allocates nothing once warm.
    func exchange<Decoder: StatusPacketDecoder>(
        _ decoder: inout Decoder, replies: Int, replyOverhead: Int, parameterCount: Int, reply: inout [UInt8], retrying: Bool = true,
        name: (UInt8) -> String, idAt: (Int) -> UInt8, handle: (Int, [UInt8]) throws(MotorBusError) -> Void
    ) throws(MotorBusError) -> (id: UInt8, detail: String)? {
        let clock = ContinuousClock()
        var failure = MotorBusError.port("no attempt made")
        for attempt in 0...(retrying ? maxRetries : 0) {
            if attempt > 0 { statistics.retries += 1 }
            statistics.transactions += 1
            decoder.reset()
            try send()
            if replies == 0 { return nil }
            let timeout = timeout(sentBytes: packet.count, replyBytes: replies * (replyOverhead + parameterCount), replies: replies)
            let deadline = clock.now + timeout
            var received = 0
            var alert: (id: UInt8, detail: String)?
            receiving: while received < replies {
                let status: StatusReply?
                do {
                    status = try decoder.nextStatus(parameters: &reply)
                } catch {
                    statistics.corruptPackets += 1
                    failure = .corrupt(motor: name(error.id), id: error.id)
                    break receiving
                }
                guard let status else {
                    guard try receive(until: deadline, into: { decoder.feed($0) }) else {
                        statistics.timeouts += 1
                        failure = .timeout(motor: name(idAt(received)), id: idAt(received), after: timeout)
                        break receiving
                    }
                    continue
                }
                // Replies of an earlier, abandoned attempt are skipped by their id.
                guard status.id == idAt(received) else { continue }
                if let refusal = status.refusal { throw .refused(motor: name(status.id), id: status.id, detail: refusal) }
                guard reply.count == parameterCount else {
                    statistics.corruptPackets += 1
                    failure = .corrupt(motor: name(status.id), id: status.id)
                    break receiving
                }
                if let detail = status.alert, alert == nil { alert = (status.id, detail) }
                try handle(received, reply)
                received += 1
            }
            if received == replies { return alert }
        }
        throw failure
    }
}

extension DynamixelDecoder: StatusPacketDecoder {
    mutating func nextStatus(parameters: inout [UInt8]) throws(CorruptPacket) -> StatusReply? {
        while true {
            let header: (id: UInt8, instruction: UInt8, error: DynamixelStatusError?)?
            do {
                header = try next(parameters: &parameters)
            } catch {
                switch error {
                case .crcMismatch(let id), .badLength(let id, _): throw CorruptPacket(id: id)
                }
            }
            guard let header else { return nil }
            // An instruction packet echoed back (half-duplex adapters) is not a reply.
            guard let status = header.error else { continue }
            return StatusReply(id: header.id, refusal: status.kind.map { "\($0)" } ?? (status.isUnknown ? status.description : nil),
                               alert: status.alert ? "alert" : nil)
        }
    }
}

extension FeetechDecoder: StatusPacketDecoder {
    mutating func nextStatus(parameters: inout [UInt8]) throws(CorruptPacket) -> StatusReply? {
        let frame: (id: UInt8, code: UInt8)?
        do {
            frame = try next(parameters: &parameters)
        } catch {
            switch error {
            case .checksumMismatch(let id), .badLength(let id, _): throw CorruptPacket(id: id)
            }
        }
        guard let frame else { return nil }
        return StatusReply(id: frame.id, refusal: nil,
                           alert: frame.code == 0 ? nil : FeetechStatusError(rawValue: frame.code).description)
    }
}
