import CJavaScriptCore
import Foundation

/// What one script call may use, and what it used (issue 25): CPU time across the call *and every promise job it
/// queued*, and memory.
///
/// JavaScriptCore's own watchdog limits one entry into the virtual machine, and each promise job is an entry of
/// its own, so `function p(){return Promise.resolve().then(p)} p()` ran forever under a 1 s limit. Two things
/// close that:
/// - ``MicrotaskControl`` keeps JavaScriptCore from draining promise jobs when a call returns; the call's wrapper
///   drains them itself, inside the call, where this budget still runs (``ScriptRuntime``'s runner);
/// - the watchdog is armed with a short tick instead of the whole limit; every tick checks the call's own
///   deadline (thread CPU time since ``start()``) and how much the process grew since then, and re-arms.
///
/// Read and written on the thread running the script only (the tick runs there, holding the JavaScript lock).
final class ScriptBudget: @unchecked Sendable {
    enum Exceeded: Sendable, Equatable {
        case time
        case memory
    }

    /// CPU seconds one call may use.
    let seconds: Double
    /// Bytes the process may grow by during one call.
    let memoryBytes: Int
    /// How often the watchdog looks: the limit when it is shorter.
    let tick: Double
    private var deadline = Double.infinity
    private var residentAtStart = 0
    /// Why the last call was stopped, if it was.
    private(set) var exceeded: Exceeded?

    init(limits: ScriptLimits) {
        let (whole, fraction) = limits.timeLimit.components
        seconds = max(Double(whole) + Double(fraction) / 1e18, 0.001)
        memoryBytes = max(limits.memoryLimitBytes, 1 << 20)
        tick = min(seconds, 0.01)
    }

    /// A new call starts: the whole limit ahead of it.
    func start() {
        deadline = Self.threadCPUTime() + seconds
        residentAtStart = Self.residentBytes()
        exceeded = nil
    }

    /// Leaves nothing to run: the next tick stops whatever still runs (promise jobs of a stopped call).
    func exhaust() {
        deadline = -Double.infinity
    }

    /// Puts back why the call was stopped, after ``exhaust()`` stopped what it left behind.
    func restore(_ exceeded: Exceeded?) {
        self.exceeded = exceeded
    }

    /// Called by the watchdog every ``tick`` of CPU time inside the virtual machine: true stops the script.
    func shouldStop() -> Bool {
        if Self.threadCPUTime() >= deadline {
            exceeded = exceeded ?? .time
            return true
        }
        if Self.residentBytes() - residentAtStart > memoryBytes {
            exceeded = .memory
            return true
        }
        return false
    }

    /// Arms the watchdog of `group` with this budget's tick.
    func arm(_ group: JSContextGroupRef) {
        JSContextGroupSetExecutionTimeLimit(group, tick, budgetTick, Unmanaged.passUnretained(self).toOpaque())
    }

    static func threadCPUTime() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// The process's resident memory, from `/proc/self/statm` (0 where there is none).
    static func residentBytes() -> Int {
        let descriptor = open("/proc/self/statm", O_RDONLY)
        guard descriptor >= 0 else { return 0 }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 96)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return 0 }
        let fields = buffer[0..<count].split(separator: UInt8(ascii: " "))
        guard fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return 0 }
        return pages * pageSize
    }

    private static let pageSize = max(Int(sysconf(Int32(_SC_PAGESIZE))), 1)
}

/// The watchdog's callback: stops the script once its budget is spent, else arms the next tick (this version of
/// JavaScriptCore does not restart the timer by itself after a callback that answers false).
private let budgetTick: JSShouldTerminateCallback = { context, pointer in
    guard let pointer else { return true }
    let budget = Unmanaged<ScriptBudget>.fromOpaque(pointer).takeUnretainedValue()
    if budget.shouldStop() { return true }
    if let context { budget.arm(JSContextGetGroup(context)) }
    return false
}

/// Who drains promise jobs (microtasks): Parley, inside each script call, so they count against its budget.
///
/// JavaScriptCore drains them when the outermost call releases the JavaScript lock, each job a new entry with a
/// fresh watchdog. Raising the virtual machine's "drain delay" count once for the life of a context group turns
/// that off; ``drain(_:)`` then runs the jobs from inside a call. These are exported, but private, functions of
/// the library (`JSC::VM::DrainMicrotaskDelayScope`, `JSLock`, `JSUnlock`), looked up at run time: where a
/// build lacks them, ``isAvailable`` is false and JavaScriptCore drains as before (time is then limited per job
/// only; `docs/engine.md`).
enum MicrotaskControl {
    private typealias ScopeFunction = @convention(c) (UnsafeMutableRawPointer) -> Void
    private typealias LockFunction = @convention(c) (JSContextRef) -> Void

    private struct Functions: @unchecked Sendable {
        var increment: ScopeFunction
        var decrement: ScopeFunction
        var lock: LockFunction
        var unlock: LockFunction
    }

    private static let functions: Functions? = {
        guard let library = dlopen(nil, RTLD_NOW) else { return nil }
        func symbol<T>(_ name: String, as type: T.Type) -> T? {
            dlsym(library, name).map { unsafeBitCast($0, to: type) }
        }
        guard let increment = symbol("_ZN3JSC2VM24DrainMicrotaskDelayScope9incrementEv", as: ScopeFunction.self),
            let decrement = symbol("_ZN3JSC2VM24DrainMicrotaskDelayScope9decrementEv", as: ScopeFunction.self),
            let lock = symbol("JSLock", as: LockFunction.self), let unlock = symbol("JSUnlock", as: LockFunction.self)
        else { return nil }
        return Functions(increment: increment, decrement: decrement, lock: lock, unlock: unlock)
    }()

    /// Whether promise jobs run inside the calls that queue them (and so within their budget).
    static var isAvailable: Bool { functions != nil }

    /// Turns automatic draining off for the life of `group` (a context group is its virtual machine). Once per group.
    static func hold(_ group: JSContextGroupRef) {
        guard let functions else { return }
        withScope(of: group, functions.increment)
    }

    /// Runs every queued promise job now, within the running call. Called from inside a call only.
    static func drain(_ context: JSContextRef) {
        guard let functions, let group = JSContextGetGroup(context) else { return }
        functions.lock(context)
        withScope(of: group, functions.decrement)
        withScope(of: group, functions.increment)
        functions.unlock(context)
    }

    /// `DrainMicrotaskDelayScope` holds only its virtual machine's address; its methods read nothing else.
    private static func withScope(of group: JSContextGroupRef, _ body: ScopeFunction) {
        var scope = UnsafeMutableRawPointer(mutating: UnsafeRawPointer(group))
        withUnsafeMutablePointer(to: &scope) { body(UnsafeMutableRawPointer($0)) }
    }
}

/// The native function behind the runner's `drain()`.
let drainCallback: JSObjectCallAsFunctionCallback = { context, _, _, _, _, _ in
    guard let context else { return nil }
    MicrotaskControl.drain(context)
    return JSValueMakeUndefined(context)
}
