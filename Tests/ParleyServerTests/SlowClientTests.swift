import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ParleyFlows
import ParleyTestSupport
import Synchronization
import Testing

/// Issue 25: slow clients held connections open without end, and 400 unauthenticated event streams were accepted.
@Suite(.serialized) struct SlowClientTests {
    static let token = String(repeating: "da", count: 32)

    static func start(receiverPort: Int) async throws -> (ServeProcessTests.Server, URL) {
        let folder = try TestDeployment.prepare(receiverPort: receiverPort)
        try """
        server: { host: 127.0.0.1, port: 0, adminToken: \(TestDeployment.adminToken), idleTimeoutSeconds: 1,
                  maxEventStreams: 3, maxEventStreamsPerEndpoint: 2 }
        store: "sqlite:parley.sqlite"
        flows: flows
        endpoints:
          - { name: one, type: rest, urlToken: \(token), flow: echo }
          - { name: two, type: rest, urlToken: \(String(repeating: "db", count: 32)), flow: echo }
        """.write(to: folder.appendingPathComponent("parley.yaml"), atomically: true, encoding: .utf8)
        return (try await ServeProcessTests.Server.start(folder: folder), folder)
    }

    @Test func aClientThatStopsSendingItsRequestIsDisconnected() async throws {
        let receiver = try await WebhookReceiver.start()
        let (server, folder) = try await Self.start(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        // Half a request head, then silence: the server closes the connection after idleTimeoutSeconds (1 s here).
        let socket = try Self.connect(port: server.port)
        defer { close(socket) }
        let partial = "POST /\(Self.token) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: applic"
        _ = partial.withCString { send(socket, $0, strlen($0), 0) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 512)
        // JavaScriptCore, in this same test process, suspends threads with signals: a read they interrupt (EINTR) is
        // read again.
        var read = recv(socket, &buffer, buffer.count, 0)
        while read < 0, errno == EINTR { read = recv(socket, &buffer, buffer.count, 0) }
        #expect(read == 0, "the server should close the connection (got \(read) bytes, errno \(errno))")
        // The server goes on serving everyone else.
        #expect(try await HTTP.send(.get, "\(server.base)/health").status == 200)
        #expect(server.terminate() == 0)
        await receiver.stop()
    }

    @Test func eventStreamsAreCappedPerEndpointAndInAll() async throws {
        let receiver = try await WebhookReceiver.start()
        let (server, folder) = try await Self.start(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        func open(_ token: String, session: String) async throws -> HTTPClientResponse {
            var request = HTTPClientRequest(url: "\(server.base)/copilot/events?userId=u&sessionId=\(session)&URLToken=\(token)")
            request.headers.add(name: "Authorization", value: "Bearer \(TestDeployment.adminToken)")
            return try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        }
        let other = String(repeating: "db", count: 32)
        let first = try await open(Self.token, session: "a")
        let second = try await open(Self.token, session: "b")
        #expect(first.status.code == 200 && second.status.code == 200)
        let third = try await open(Self.token, session: "c")
        #expect(third.status.code == 429)
        #expect(String(buffer: try await third.body.collect(upTo: 4096)).contains("too_many_streams"))
        let elsewhere = try await open(other, session: "d")
        #expect(elsewhere.status.code == 200, "another endpoint still has room")
        let beyond = try await open(other, session: "e")
        #expect(beyond.status.code == 429, "three streams in all")
        #expect(server.terminate() == 0)
        await receiver.stop()
    }

    static func connect(port: Int) throws -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestDeployment.DeploymentError(message: "cannot connect: errno \(errno)") }
        return socket
    }
}
