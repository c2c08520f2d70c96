import CJavaScriptCore

/// Small conversions between JavaScriptCore values and Swift.
enum JavaScriptValues {
    /// `String(value)`, or `nil` when converting throws.
    static func string(_ value: JSValueRef, in context: JSContextRef) -> String? {
        guard let text = JSValueToStringCopy(context, value, nil) else { return nil }
        defer { JSStringRelease(text) }
        return swiftString(text)
    }

    /// A numeric property of an object, when it exists and is a number.
    static func number(property name: String, of value: JSValueRef, in context: JSContextRef) -> Double? {
        guard let object = JSValueToObject(context, value, nil) else { return nil }
        let key = JSStringCreateWithUTF8CString(name)
        defer { JSStringRelease(key) }
        guard let property = JSObjectGetProperty(context, object, key, nil), JSValueIsNumber(context, property) else { return nil }
        return JSValueToNumber(context, property, nil)
    }

    /// Copies a JavaScriptCore string into Swift.
    static func swiftString(_ text: JSStringRef) -> String {
        let capacity = JSStringGetMaximumUTF8CStringSize(text)
        var buffer = [CChar](repeating: 0, count: capacity)
        let written = JSStringGetUTF8CString(text, &buffer, capacity)
        guard written > 0 else { return "" }
        return String(decoding: buffer[0..<(written - 1)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
