// What a session has to send, in order: frames ready now, and element streams whose batches are
// computed only when the transport asks for the next frame, so that a large set never sits in
// memory as frames.

/// The ordered list of frames and streams a session has to send.
struct Outbox {
    /// A stream of element batches, computed one range at a time.
    struct Stream {
        let ranges: [Range<Int>]
        var next = 0
        let make: (Range<Int>) throws -> Frame
    }

    private enum Item {
        case frame(Frame)
        case stream(Stream)
    }

    private var items: [Item] = []

    /// True when nothing is waiting to be sent.
    var isEmpty: Bool { items.isEmpty }

    /// Queues a frame.
    mutating func send(_ frame: Frame) { items.append(.frame(frame)) }

    /// Queues frames.
    mutating func send(_ frames: [Frame]) { items += frames.map(Item.frame) }

    /// Queues a stream of one frame per range, each computed by `make` when it is taken.
    mutating func stream(_ ranges: [Range<Int>], make: @escaping (Range<Int>) throws -> Frame) {
        guard !ranges.isEmpty else { return }
        items.append(.stream(Stream(ranges: ranges, make: make)))
    }

    /// Takes the next frame (computing it if it is part of a stream); nil when nothing is queued.
    mutating func next() throws -> Frame? {
        guard !items.isEmpty else { return nil }
        switch items.removeFirst() {
        case .frame(let f):
            return f
        case .stream(var s):
            let frame = try s.make(s.ranges[s.next])
            s.next += 1
            if s.next < s.ranges.count { items.insert(.stream(s), at: 0) }
            return frame
        }
    }

    /// Drops everything queued (streams and the secrets their closures hold).
    mutating func removeAll() { items = [] }
}
