// Where a party keeps blinded elements until both lists are complete: appended as batches arrive,
// sealed (sorted, checked for duplicates) once, then matched by lookup or by merging two sealed
// stores. The in-memory sorted store is the one implementation today; a store that spills sorted
// runs to disk and merges them is meant to be the second.

/// A list of blinded elements with their positions in the stream they arrived in.
protocol ElementStore {
    init()
    /// Elements appended so far.
    var count: Int { get }
    /// Makes room for `count` elements (both set sizes are known before any element arrives).
    mutating func reserve(_ count: Int)
    /// Appends one element (before `seal`).
    mutating func append(_ key: ElementKey, position: Int32)
    /// Orders the elements for lookup and merging; false when an element appears twice.
    mutating func seal() -> Bool
    /// The position of `key` (after `seal`), nil when absent.
    func position(of key: ElementKey) -> Int32?
    /// Calls `body` with both positions of every element that is in this store and in `other`,
    /// in key order (both sealed).
    func forEachCommon(with other: Self, _ body: (_ mine: Int32, _ theirs: Int32) throws -> Void) rethrows
    /// Drops every element.
    mutating func removeAll()
}

/// Elements in one flat array, sorted once (24 bytes each, no hash table).
struct SortedElementStore: ElementStore {
    private var entries: [KeyPosition] = []

    init() {}

    var count: Int { entries.count }
    mutating func reserve(_ count: Int) { entries.reserveCapacity(count) }
    mutating func append(_ key: ElementKey, position: Int32) { entries.append(KeyPosition(key: key, position: position)) }

    mutating func seal() -> Bool {
        entries.sort()
        return !KeyPosition.hasDuplicate(entries)
    }

    func position(of key: ElementKey) -> Int32? { KeyPosition.find(key, in: entries) }

    func forEachCommon(with other: SortedElementStore, _ body: (Int32, Int32) throws -> Void) rethrows {
        var i = 0, j = 0
        let a = entries, b = other.entries
        while i < a.count && j < b.count {
            if a[i].key < b[j].key {
                i += 1
            } else if b[j].key < a[i].key {
                j += 1
            } else {
                try body(a[i].position, b[j].position)
                i += 1
                j += 1
            }
        }
    }

    mutating func removeAll() { entries = [] }
}
