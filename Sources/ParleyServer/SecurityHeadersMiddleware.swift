import HTTPTypes
import Hummingbird

/// `Referrer-Policy`, which HTTPTypes does not name.
private let referrerPolicy = HTTPField.Name("Referrer-Policy")!

/// Security headers on every answer (issue 25): nothing is sniffed into another type; nothing that shows session
/// data or secrets is cached; only the workspace page may be framed, and only by Parley itself and the configured
/// agent desktops (`server.frameAncestors`).
///
/// The page's policy lets its scripts and styles come from Parley, its data from Parley only (`connect-src 'self'`),
/// and its iframe tiles from anywhere. html tiles run in sandboxed `srcdoc` frames, which inherit this policy: their
/// inline scripts (`window.onParleyData`, docs/voice.md) still run, but cannot fetch from another server. Values a
/// flow puts into an html tile are escaped by the engine, so a user's text is never markup there.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    /// `frame-ancestors` of the workspace page.
    let frameAncestors: String

    init(frameAncestors origins: [String]) {
        self.frameAncestors = (["'self'"] + origins).joined(separator: " ")
    }

    /// The workspace page's policy.
    var pagePolicy: String {
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            + "connect-src 'self'; frame-src http: https:; object-src 'none'; base-uri 'none'; form-action 'self'; "
            + "frame-ancestors \(frameAncestors)"
    }

    /// Every other answer is data, never a document to render or frame.
    static var dataPolicy: String { "default-src 'none'; frame-ancestors 'none'" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        do {
            var response = try await next(request, context)
            decorate(&response.headers, path: path)
            return response
        } catch let error as any HTTPResponseError {
            var response = try error.response(from: request, context: context)
            decorate(&response.headers, path: path)
            return response
        }
    }

    private func decorate(_ headers: inout HTTPFields, path: String) {
        headers[.xContentTypeOptions] = "nosniff"
        headers[referrerPolicy] = "no-referrer"
        let page = path == "/copilot/" || path == "/copilot"
        let asset = path == "/copilot/app.js" || path == "/copilot/style.css"
        if headers[.contentSecurityPolicy] == nil { headers[.contentSecurityPolicy] = page ? pagePolicy : Self.dataPolicy }
        // The page, the workspace's data, the admin API (a new key is shown once) and every error: never stored.
        if !asset, path != "/health", path != "/metrics" { headers[.cacheControl] = "no-store" }
    }
}
