import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's core storage plus the client's address, which the server
/// logs masked or not as the endpoint's `dataProtection.maskIPAddress` says.
public struct ParleyRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address, if the connection has one.
    var clientIP: String? { remoteAddress?.ipAddress }
}
