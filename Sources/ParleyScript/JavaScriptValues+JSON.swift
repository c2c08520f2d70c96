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
    /// The most characters (UTF-16 code units, keys and strings together) one value a script hands back may hold:
    /// `context.big = 'x'.repeat(2 ** 27)` costs JavaScriptCore nothing (a rope) and Swift 128 MB to copy.
    static let maxCharacters = 4 << 20

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
    ///
    /// - Parameter ownKeys: `Object.keys` as it was before any script ran (``PreparedContext``): objects are read by
    ///   their own enumerable keys, as `JSON.stringify` reads them. Without it, JavaScriptCore's `for…in` names
    ///   are used, which include inherited enumerable properties.
    static func json(_ value: JSValueRef, in context: JSContextRef, ownKeys: JSObjectRef? = nil) throws(ConversionError) -> JSONValue? {
        var reader = JSONReader(context: context, ownKeys: ownKeys)
        return try reader.read(value, depth: 0)
    }
}

/// One conversion out of JavaScript, with its budget of characters (``JavaScriptValues/maxCharacters``).
struct JSONReader {
    typealias ConversionError = JavaScriptValues.ConversionError

    let context: JSContextRef
    let ownKeys: JSObjectRef?
    private var remaining = JavaScriptValues.maxCharacters

    init(context: JSContextRef, ownKeys: JSObjectRef?) {
        self.context = context
        self.ownKeys = ownKeys
    }

    mutating func read(_ value: JSValueRef, depth: Int) throws(ConversionError) -> JSONValue? {
        guard depth <= JavaScriptValues.maxDepth else {
            throw ConversionError(message: "value is cyclic or nested more than \(JavaScriptValues.maxDepth) levels deep")
        }
        switch JSValueGetType(context, value) {
        case kJSTypeUndefined: return nil
        case kJSTypeNull: return .null
        case kJSTypeBoolean: return .bool(JSValueToBoolean(context, value))
        case kJSTypeNumber:
            let number = JSValueToNumber(context, value, nil)
            guard number.isFinite else { return .null }
            return .number(number == 0 ? 0 : number)
        case kJSTypeString: return .string(try string(value))
        case kJSTypeObject: return try object(value, depth: depth)
        case kJSTypeBigInt: throw ConversionError(message: "a BigInt cannot be stored as JSON")
        default: return nil
        }
    }

    /// A string, counted against the budget before it is copied (its `length` does not flatten a rope).
    private mutating func string(_ value: JSValueRef) throws(ConversionError) -> String {
        let length = JavaScriptValues.number(property: "length", of: value, in: context) ?? 0
        try spend(length)
        return JavaScriptValues.string(value, in: context) ?? ""
    }

    private mutating func spend(_ characters: Double) throws(ConversionError) {
        guard let count = CheckedNumber.integer(characters, in: 0...Int(Int32.max)), count <= remaining else {
            throw ConversionError(
                message: "a value of more than \(JavaScriptValues.maxCharacters) characters (strings and keys together) cannot be stored"
            )
        }
        remaining -= count
    }

    private mutating func object(_ value: JSValueRef, depth: Int) throws(ConversionError) -> JSONValue? {
        var exception: JSValueRef?
        guard let object = JSValueToObject(context, value, &exception) else { throw failure(exception) }
        if JSObjectIsFunction(context, object) { return nil }
        let toJSON = try property("toJSON", of: object)
        if JSValueIsObject(context, toJSON), let function = JSValueToObject(context, toJSON, nil), JSObjectIsFunction(context, function) {
            let key: [JSValueRef?] = [JavaScriptValues.makeString("", in: context)]
            let result = key.withUnsafeBufferPointer { JSObjectCallAsFunction(context, function, object, 1, $0.baseAddress, &exception) }
            guard let result, exception == nil else { throw failure(exception) }
            return try read(result, depth: depth + 1)
        }
        if JSValueIsArray(context, value) {
            let reported = JSValueToNumber(context, try property("length", of: object), nil)
            guard let length = CheckedNumber.integer(reported, in: 0...JavaScriptValues.maxArrayLength) else {
                throw ConversionError(
                    message: "an array longer than \(JavaScriptValues.maxArrayLength) items (or with an invalid length) cannot be stored as JSON"
                )
            }
            var items: [JSONValue] = []
            items.reserveCapacity(length)
            for index in 0..<length {
                guard let item = JSObjectGetPropertyAtIndex(context, object, UInt32(index), &exception), exception == nil else {
                    throw failure(exception)
                }
                items.append(try read(item, depth: depth + 1) ?? .null)
            }
            return .array(items)
        }
        var members: [String: JSONValue] = [:]
        for name in try keys(of: object) {
            try spend(Double(name.utf16.count))
            let key = JavaScriptValues.jsString(name)
            defer { JSStringRelease(key) }
            guard let member = JSObjectGetProperty(context, object, key, &exception), exception == nil else { throw failure(exception) }
            if let converted = try read(member, depth: depth + 1) { members[name] = converted }
        }
        return .object(members)
    }

    /// The object's own enumerable string keys (`Object.keys`), never inherited ones: a naive deep merge of
    /// `{"constructor": {"prototype": {...}}}` must not store what it reached through the prototype chain.
    private func keys(of object: JSObjectRef) throws(ConversionError) -> [String] {
        guard let ownKeys else {
            let names = JSObjectCopyPropertyNames(context, object)
            defer { JSPropertyNameArrayRelease(names) }
            return (0..<JSPropertyNameArrayGetCount(names)).compactMap { index in
                JSPropertyNameArrayGetNameAtIndex(names, index).map(JavaScriptValues.swiftString)
            }
        }
        var exception: JSValueRef?
        let argument: [JSValueRef?] = [object]
        guard let list = argument.withUnsafeBufferPointer({ JSObjectCallAsFunction(context, ownKeys, nil, 1, $0.baseAddress, &exception) }),
            exception == nil, let array = JSValueToObject(context, list, nil)
        else { throw failure(exception) }
        let count = JavaScriptValues.number(property: "length", of: array, in: context).flatMap {
            CheckedNumber.integer($0, in: 0...JavaScriptValues.maxArrayLength)
        } ?? 0
        var names: [String] = []
        names.reserveCapacity(count)
        for index in 0..<count {
            guard let name = JSObjectGetPropertyAtIndex(context, array, UInt32(index), &exception), exception == nil else { throw failure(exception) }
            names.append(JavaScriptValues.string(name, in: context) ?? "")
        }
        return names
    }

    private func property(_ name: String, of object: JSObjectRef) throws(ConversionError) -> JSValueRef {
        let key = JSStringCreateWithUTF8CString(name)
        defer { JSStringRelease(key) }
        var exception: JSValueRef?
        guard let value = JSObjectGetProperty(context, object, key, &exception), exception == nil else { throw failure(exception) }
        return value
    }

    private func failure(_ exception: JSValueRef?) -> ConversionError {
        ConversionError(message: exception.flatMap { JavaScriptValues.string($0, in: context) } ?? "value cannot be converted to JSON")
    }
}
