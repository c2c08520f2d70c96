import CJavaScriptCore
import ParleyFlows

/// Lossless conversion between ``JSONValue`` and JavaScriptCore values.
///
/// Into JavaScript, a value goes through JavaScriptCore's JSON parser, so numbers, nesting and `null` arrive
/// exactly. Out of JavaScript, the rules are `JSON.stringify`'s: `undefined`, functions and symbols are absent
/// (`nil` at the top, dropped from objects, `null` inside arrays), non-finite numbers become `null`, `toJSON` is
/// honoured (a `Date` becomes its ISO string), BigInts and cycles are errors.
extension JavaScriptValues {
    /// Values nested deeper than this are treated as cyclic.
    static let maxDepth = 200
    /// The longest array a script may hand back: a sparse `a.length = 4294967295` (or a proxy claiming any length)
    /// would otherwise be walked item by item.
    static let maxArrayLength = 1_000_000

    /// Why a value could not be converted.
    struct ConversionError: Error {
        var message: String
    }

    /// Creates the JavaScript value of `value`.
    static func make(_ value: JSONValue, in context: JSContextRef) -> JSValueRef {
        switch value {
        case .null: return JSValueMakeNull(context)
        case .bool(let flag): return JSValueMakeBoolean(context, flag)
        case .number(let number): return JSValueMakeNumber(context, number)
        case .string(let text): return makeString(text, in: context)
        case .array, .object:
            let text = JSStringCreateWithUTF8CString(value.canonicalJSON)
            defer { JSStringRelease(text) }
            return JSValueMakeFromJSONString(context, text) ?? JSValueMakeNull(context)
        }
    }

    /// Creates the JavaScript object of `members`.
    static func make(_ members: [String: JSONValue], in context: JSContextRef) -> JSValueRef {
        make(.object(members), in: context)
    }

    /// A JavaScript string with the UTF-16 contents of `text` (exact for every string, including NUL characters).
    static func makeString(_ text: String, in context: JSContextRef) -> JSValueRef {
        let string = jsString(text)
        defer { JSStringRelease(string) }
        return JSValueMakeString(context, string)
    }

    /// A retained `JSStringRef` of `text`; release it with `JSStringRelease`.
    static func jsString(_ text: String) -> JSStringRef {
        let units = Array(text.utf16)
        return units.withUnsafeBufferPointer { JSStringCreateWithCharacters($0.baseAddress, units.count) }
    }

    /// The JSON value of a JavaScript value; `nil` for `undefined`, functions and symbols.
    static func json(_ value: JSValueRef, in context: JSContextRef, depth: Int = 0) throws(ConversionError) -> JSONValue? {
        guard depth <= maxDepth else { throw ConversionError(message: "value is cyclic or nested more than \(maxDepth) levels deep") }
        switch JSValueGetType(context, value) {
        case kJSTypeUndefined: return nil
        case kJSTypeNull: return .null
        case kJSTypeBoolean: return .bool(JSValueToBoolean(context, value))
        case kJSTypeNumber:
            let number = JSValueToNumber(context, value, nil)
            guard number.isFinite else { return .null }
            return .number(number == 0 ? 0 : number)
        case kJSTypeString: return .string(string(value, in: context) ?? "")
        case kJSTypeObject: return try jsonObject(value, in: context, depth: depth)
        case kJSTypeBigInt: throw ConversionError(message: "a BigInt cannot be stored as JSON")
        default: return nil
        }
    }

    private static func jsonObject(_ value: JSValueRef, in context: JSContextRef, depth: Int) throws(ConversionError) -> JSONValue? {
        var exception: JSValueRef?
        guard let object = JSValueToObject(context, value, &exception) else { throw failure(exception, in: context) }
        if JSObjectIsFunction(context, object) { return nil }
        let toJSON = try property("toJSON", of: object, in: context)
        if JSValueIsObject(context, toJSON), let function = JSValueToObject(context, toJSON, nil), JSObjectIsFunction(context, function) {
            let key: [JSValueRef?] = [makeString("", in: context)]
            let result = key.withUnsafeBufferPointer { JSObjectCallAsFunction(context, function, object, 1, $0.baseAddress, &exception) }
            guard let result, exception == nil else { throw failure(exception, in: context) }
            return try json(result, in: context, depth: depth + 1)
        }
        if JSValueIsArray(context, value) {
            let reported = JSValueToNumber(context, try property("length", of: object, in: context), nil)
            guard let length = CheckedNumber.integer(reported, in: 0...maxArrayLength) else {
                throw ConversionError(message: "an array longer than \(maxArrayLength) items (or with an invalid length) cannot be stored as JSON")
            }
            var items: [JSONValue] = []
            items.reserveCapacity(length)
            for index in 0..<length {
                guard let item = JSObjectGetPropertyAtIndex(context, object, UInt32(index), &exception), exception == nil else {
                    throw failure(exception, in: context)
                }
                items.append(try json(item, in: context, depth: depth + 1) ?? .null)
            }
            return .array(items)
        }
        let names = JSObjectCopyPropertyNames(context, object)
        defer { JSPropertyNameArrayRelease(names) }
        var members: [String: JSONValue] = [:]
        for index in 0..<JSPropertyNameArrayGetCount(names) {
            guard let name = JSPropertyNameArrayGetNameAtIndex(names, index) else { continue }
            guard let member = JSObjectGetProperty(context, object, name, &exception), exception == nil else {
                throw failure(exception, in: context)
            }
            if let converted = try json(member, in: context, depth: depth + 1) {
                members[swiftString(name)] = converted
            }
        }
        return .object(members)
    }

    private static func property(_ name: String, of object: JSObjectRef, in context: JSContextRef) throws(ConversionError) -> JSValueRef {
        let key = JSStringCreateWithUTF8CString(name)
        defer { JSStringRelease(key) }
        var exception: JSValueRef?
        guard let value = JSObjectGetProperty(context, object, key, &exception), exception == nil else {
            throw failure(exception, in: context)
        }
        return value
    }

    private static func failure(_ exception: JSValueRef?, in context: JSContextRef) -> ConversionError {
        ConversionError(message: exception.flatMap { string($0, in: context) } ?? "value cannot be converted to JSON")
    }
}
