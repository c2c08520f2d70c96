/// The JavaScript that turns a fresh JavaScriptCore global object into Parley's sandbox.
///
/// It evaluates to a function `(host) -> configure`, run once on each fresh global object, ahead of the turn that
/// will use it (``ContextPool``): it removes host and timing APIs, makes `Math.random`, `Date` and locale
/// formatting deterministic and routes `console` to `api.log`. The turn then calls `configure(seed, currentTime,
/// maxCalls)` once, which fixes the seed and the clock and returns the factory of the per-node `api` object.
enum ScriptPrelude {
    static let source = #"""
        (function (host) {
          'use strict';
          const g = globalThis;
          // No timers, network, files, processes, shared memory or GC-dependent behaviour.
          for (const name of ['WebAssembly', 'Atomics', 'WeakRef', 'FinalizationRegistry', 'SharedArrayBuffer',
                              'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval',
                              'queueMicrotask', 'require', 'process', 'fetch', 'XMLHttpRequest', 'crypto',
                              'performance', 'gc', 'print', 'load', 'readFile', 'quit']) {
            try { delete g[name]; } catch (e) {}
          }

          // Math.random: mulberry32, seeded by the engine from (sessionId, execution).
          let state = 0;
          Object.defineProperty(Math, 'random', { writable: true, configurable: true, enumerable: false,
            value: function random() {
              state = (state + 0x6D2B79F5) | 0;
              let t = Math.imul(state ^ (state >>> 15), 1 | state);
              t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
              return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
            } });

          // Date: "now" is input.currentTime, and local time is UTC whatever the host's time zone.
          const RealDate = Date;
          const proto = RealDate.prototype;
          const localDateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
          const parse = function parse(text) {
            const s = String(text);
            return RealDate.parse(localDateTime.test(s) ? s + 'Z' : s);
          };
          let now = 0;
          let maxCalls = 0;
          const ParleyDate = function Date(...args) {
            if (new.target === undefined) { return new RealDate(now).toString(); }
            let value;
            if (args.length === 0) { value = [now]; }
            else if (args.length === 1) { value = [typeof args[0] === 'string' ? parse(args[0]) : args[0]]; }
            else { value = [RealDate.UTC(...args)]; }
            return Reflect.construct(RealDate, value, new.target);
          };
          ParleyDate.prototype = proto;
          ParleyDate.now = function now_() { return now; };
          ParleyDate.parse = parse;
          ParleyDate.UTC = RealDate.UTC;
          Object.defineProperty(proto, 'constructor', { value: ParleyDate, writable: true, configurable: true });
          const same = { FullYear: 'UTCFullYear', Month: 'UTCMonth', Date: 'UTCDate', Day: 'UTCDay', Hours: 'UTCHours',
                         Minutes: 'UTCMinutes', Seconds: 'UTCSeconds', Milliseconds: 'UTCMilliseconds' };
          for (const local of Object.keys(same)) {
            const utc = same[local];
            Object.defineProperty(proto, 'get' + local, { value: proto['get' + utc], writable: true, configurable: true });
            if (local !== 'Day') {
              Object.defineProperty(proto, 'set' + local, { value: proto['set' + utc], writable: true, configurable: true });
            }
          }
          const define = (object, name, value) =>
            Object.defineProperty(object, name, { value, writable: true, configurable: true });
          define(proto, 'getTimezoneOffset', function getTimezoneOffset() { return 0; });
          const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
          const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
          const pad = (n, w) => String(n).padStart(w, '0');
          const dateText = (d) => days[d.getUTCDay()] + ' ' + months[d.getUTCMonth()] + ' ' + pad(d.getUTCDate(), 2) +
            ' ' + (d.getUTCFullYear() < 0 ? '-' + pad(-d.getUTCFullYear(), 6) : pad(d.getUTCFullYear(), 4));
          const timeText = (d) => pad(d.getUTCHours(), 2) + ':' + pad(d.getUTCMinutes(), 2) + ':' + pad(d.getUTCSeconds(), 2) +
            ' GMT+0000 (Coordinated Universal Time)';
          const valid = (d) => !Number.isNaN(proto.getTime.call(d));
          define(proto, 'toString', function toString() { return valid(this) ? dateText(this) + ' ' + timeText(this) : 'Invalid Date'; });
          define(proto, 'toDateString', function toDateString() { return valid(this) ? dateText(this) : 'Invalid Date'; });
          define(proto, 'toTimeString', function toTimeString() { return valid(this) ? timeText(this) : 'Invalid Date'; });
          const withDefaults = (options) => Object.assign({ timeZone: 'UTC' }, options);
          for (const name of ['toLocaleString', 'toLocaleDateString', 'toLocaleTimeString']) {
            const original = proto[name];
            define(proto, name, function (locales, options) {
              return original.call(this, locales === undefined ? 'en-US' : locales, withDefaults(options));
            });
          }
          g.Date = ParleyDate;

          // Locale-dependent formatting defaults to en-US instead of the host's locale.
          const numberLocale = Number.prototype.toLocaleString;
          define(Number.prototype, 'toLocaleString', function toLocaleString(locales, options) {
            return numberLocale.call(this, locales === undefined ? 'en-US' : locales, options);
          });
          const compare = String.prototype.localeCompare;
          define(String.prototype, 'localeCompare', function localeCompare(other, locales, options) {
            return compare.call(this, other, locales === undefined ? 'en-US' : locales, options);
          });
          if (typeof Intl === 'object') {
            const RealDTF = Intl.DateTimeFormat;
            const DateTimeFormat = function DateTimeFormat(locales, options) {
              return new RealDTF(locales === undefined ? 'en-US' : locales, withDefaults(options));
            };
            DateTimeFormat.prototype = RealDTF.prototype;
            DateTimeFormat.supportedLocalesOf = RealDTF.supportedLocalesOf;
            define(Intl, 'DateTimeFormat', DateTimeFormat);
            const RealNF = Intl.NumberFormat;
            const NumberFormat = function NumberFormat(locales, options) {
              return new RealNF(locales === undefined ? 'en-US' : locales, options);
            };
            NumberFormat.prototype = RealNF.prototype;
            NumberFormat.supportedLocalesOf = RealNF.supportedLocalesOf;
            define(Intl, 'NumberFormat', NumberFormat);
          }

          // console.* goes to api.log of the running code node, and nowhere outside one.
          let current = null;
          const text = (args) => args.map((a) => typeof a === 'string' ? a : (() => {
            try { const json = JSON.stringify(a); return json === undefined ? String(a) : json; } catch (e) { return String(a); }
          })()).join(' ');
          const consoleObject = {};
          for (const [name, level] of [['log', 'info'], ['info', 'info'], ['debug', 'debug'], ['warn', 'warn'], ['error', 'error']]) {
            consoleObject[name] = function (...args) { if (current !== null) { current.log(level, text(args)); } };
          }
          g.console = Object.freeze(consoleObject);

          const pathOf = (method, key) => {
            if (typeof key !== 'string' || key === '') { throw new TypeError('api.' + method + ': key must be a non-empty string'); }
            return key.split('.');
          };

          // The api object of one code node; `context` is the object the node's script sees.
          const makeApi = function makeApi(context) {
            let calls = 0;
            const count = (method) => {
              calls += 1;
              if (calls > maxCalls) {
                throw new Error('api.' + method + ': more than ' + maxCalls + ' api calls in one code node');
              }
            };
            const api = {
              say(text, data) { count('say'); host('say', text, data); },
              output(text, data) { count('output'); host('say', text, data); },
              addToContext(key, value, mode) {
                count('addToContext');
                const keys = pathOf('addToContext', key);
                let object = context;
                for (const k of keys.slice(0, -1)) {
                  if (object[k] === null || typeof object[k] !== 'object') { object[k] = {}; }
                  object = object[k];
                }
                const last = keys[keys.length - 1];
                if (mode === 'array') {
                  if (!Array.isArray(object[last])) { object[last] = object[last] === undefined ? [] : [object[last]]; }
                  object[last].push(value);
                } else {
                  object[last] = value;
                }
              },
              getContext(key) {
                count('getContext');
                let object = context;
                for (const k of pathOf('getContext', key)) {
                  if (object === null || typeof object !== 'object' || !Object.prototype.hasOwnProperty.call(object, k)) { return undefined; }
                  object = object[k];
                }
                return object;
              },
              deleteContext(key) {
                count('deleteContext');
                const keys = pathOf('deleteContext', key);
                let object = context;
                for (const k of keys.slice(0, -1)) {
                  if (object[k] === null || typeof object[k] !== 'object') { return; }
                  object = object[k];
                }
                delete object[keys[keys.length - 1]];
              },
              setNextNode(nodeId) { count('setNextNode'); host('next', String(nodeId)); },
              stopExecution() { count('stopExecution'); host('stop'); },
              log(level, message) {
                count('log');
                host('log', String(level), message === undefined ? '' : typeof message === 'string' ? message : text([message]));
              },
            };
            Object.freeze(api);
            current = api;
            return api;
          };

          // Called once by the turn that takes this global object: its seed, its clock, its api limit.
          return function configure(seed, currentTime, calls) {
            state = seed >>> 0;
            const parsed = parse(currentTime);
            now = Number.isNaN(parsed) ? 0 : parsed;
            maxCalls = calls;
            return makeApi;
          };
        })
        """#
}
