import Hummingbird
import ParleyEndpoints

/// Answers a request no route matches with the JSON error shape of DESIGN §5.1 (`404 not_found`), as every other
/// error of the API is shaped, instead of Hummingbird's empty 404.
struct NotFoundMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            throw APIError.notFound
        }
    }
}
