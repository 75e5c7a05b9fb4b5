import Foundation
import Testing

@testable import CleanRoomRunner

/// The per-party state database: freezes persist across opens and are lifted only explicitly.
@Suite struct PartyStateTests {
    static func path() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cleanroom-state-\(UUID().uuidString).sqlite").path
    }

    @Test func aFreezePersistsUntilLifted() throws {
        let path = Self.path()
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let state = try PartyState(path: path)
            #expect(try state.freeze(of: "acme") == nil)
            try state.freeze("acme", digest: "d1", reason: "first")
            try state.freeze("acme", digest: "d2", reason: "second")  // the first reason stays
        }
        let reopened = try PartyState(path: path)
        let freeze = try #require(try reopened.freeze(of: "acme"))
        #expect(freeze.digest == "d1" && freeze.reason == "first" && !freeze.since.isEmpty)
        #expect(try reopened.freeze(of: "other") == nil)
        #expect(try reopened.unfreeze("acme") == freeze)
        #expect(try reopened.unfreeze("acme") == nil)
        #expect(try PartyState(path: path).freeze(of: "acme") == nil)
    }

    @Test func quotesAndControlCharactersAreStoredVerbatim() throws {
        let path = Self.path()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let state = try PartyState(path: path)
        let name = "x'); DROP TABLE frozen_collaborations; --\n\u{202E}"
        try state.freeze(name, digest: "d", reason: "r'\"")
        #expect(try state.freeze(of: name)?.reason == "r'\"")
    }

    @Test func anUnopenableDatabaseIsAClearError() {
        #expect(throws: RunnerError.self) { try PartyState(path: "/nonexistent-dir/state.sqlite") }
        do { _ = try PartyState(path: "/nonexistent-dir/state.sqlite") } catch let e as RunnerError {
            #expect(e.description.contains("cannot open the state database /nonexistent-dir/state.sqlite"))
        } catch { Issue.record("\(error)") }
    }
}
