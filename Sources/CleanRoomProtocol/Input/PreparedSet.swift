// A prepared set: the unique normalised identifiers of one party, what belongs to each (rows,
// group, summed values), stored compactly.

/// Unique identifiers stored back to back (one allocation for the whole set, not one per
/// identifier).
struct IdentifierStore: RandomAccessCollection {
    private(set) var bytes: [UInt8] = []
    private(set) var ends: [UInt32] = []

    var startIndex: Int { 0 }
    var endIndex: Int { ends.count }
    subscript(i: Int) -> ArraySlice<UInt8> { bytes[(i == 0 ? 0 : Int(ends[i - 1]))..<Int(ends[i])] }

    /// Reserves room for `count` identifiers of `bytes` bytes in total.
    mutating func reserve(count: Int, bytes total: Int) {
        bytes.reserveCapacity(Swift.min(total, Int(UInt32.max)))
        ends.reserveCapacity(count)
    }

    /// Whether `count` more bytes fit (the store holds at most 4 GiB in total).
    func hasRoom(for count: Int) -> Bool { bytes.count + count <= Int(UInt32.max) }

    /// Appends an identifier; the store holds at most 4 GiB of identifier bytes in total.
    mutating func append(_ id: [UInt8]) throws {
        guard hasRoom(for: id.count) else {
            throw CleanRoomProtocolError.invalidCollaboration(path: "(input)", problem: "identifiers exceed 4 GiB in total")
        }
        bytes += id
        ends.append(UInt32(bytes.count))
    }
}

/// A prepared set: unique normalised identifiers and what belongs to each.
struct PreparedSet {
    /// Unique normalised identifiers, in first-seen order.
    var identifiers = IdentifierStore()
    /// For each identifier, the first input row (0-based) that carried it; later rows with the
    /// same identifier are in `moreRows`.
    var firstRow: [Int32] = []
    var moreRows: [Int32: [Int32]] = [:]
    /// P1 with groups: group index per identifier, and the labels.
    var groupOf: [UInt32] = []
    var groupLabels: [String] = []
    /// P2 in intersection-sum: per identifier, the summed slot values (value − min per row, per
    /// column) followed by the number of rows; `slotWidth` values per identifier, back to back.
    var slotValues: [UInt64] = []
    var slotWidth = 0
    /// The sender of an enrichment: per identifier, its first row's allowed cells, each as a 2-byte
    /// length and its bytes (`EnrichmentPayload`).
    var payloads = IdentifierStore()

    /// The indices of the groups with at least `minimum` identifiers, in index order.
    func groups(withAtLeast minimum: Int) -> [UInt32] {
        var counts = [Int](repeating: 0, count: groupLabels.count)
        for g in groupOf { counts[Int(g)] += 1 }
        return counts.indices.filter { counts[$0] >= minimum }.map { UInt32($0) }
    }

    /// The slot values of identifier `i`.
    func slots(of i: Int) -> [UInt64] { Array(slotValues[(i * slotWidth)..<((i + 1) * slotWidth)]) }
    /// Each input row's reference (its `rowNumber`), kept only where a result or an error message
    /// names rows.
    var references: [Int] = []
    /// Rows the source gave.
    var inputRows = 0
    /// Number of input rows used (after skipping bad rows).
    var usedRows = 0
    /// Rows skipped under `bad_rows: skip`.
    var skippedRows = 0
    /// Valid rows left out by the contribution bound (`max_rows_per_identifier`).
    var rowsOverContributionBound = 0

    /// Every input row (0-based) that carried identifier `i`.
    func rows(of i: Int) -> [Int] {
        [Int(firstRow[i])] + (moreRows[Int32(i)] ?? []).map(Int.init)
    }
}

/// Finds an identifier's index without storing each identifier a second time: an open-addressing
/// table of 32-bit indices into the store (4 bytes per slot, at most half full), probed by a
/// 64-bit hash of the identifier's bytes and confirmed by comparing the stored bytes.
struct IdentifierIndex {
    private var slots: [Int32]
    private var mask: Int
    private var count = 0

    /// - Parameter expected: how many identifiers will be inserted (the table grows past it).
    init(expected: Int) {
        var size = 16
        while size < 2 * expected { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    private static func hash(_ id: [UInt8]) -> Int {
        var h = Hasher()
        id.withUnsafeBytes { h.combine(bytes: $0) }
        return h.finalize()
    }

    func find(_ id: [UInt8], in store: IdentifierStore) -> Int? {
        var i = Self.hash(id) & mask
        while slots[i] >= 0 {
            if store[Int(slots[i])].elementsEqual(id) { return Int(slots[i]) }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Records that `id` (not yet present) is at `index` of `store` (which must already hold it
    /// when the table grows).
    mutating func insert(_ id: [UInt8], at index: Int, in store: IdentifierStore) {
        if 2 * (count + 1) > slots.count { grow(store) }
        var i = Self.hash(id) & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = Int32(index)
        count += 1
    }

    private mutating func grow(_ store: IdentifierStore) {
        let old = slots
        slots = [Int32](repeating: -1, count: old.count * 2)
        mask = slots.count - 1
        for v in old where v >= 0 {
            var i = Self.hash(Array(store[Int(v)])) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = v
        }
    }
}
