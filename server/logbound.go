package server

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"unicode/utf8"

	"github.com/townsquare/townsquare/store"
)

// MaxLogValue is the most bytes of one value that a log line of a request carries: the
// values a client chooses (a path, a userName in an error, a token name) could otherwise
// make one line as large as a request body. A longer value keeps its first and last
// MaxLogValue/2 bytes, around a note of how much was cut: the start names what failed,
// the end of a wrapped error says why.
const MaxLogValue = 256

// boundedHandler is the slog.Handler of every logger that serves requests: each string
// value, error and formatted value of a record is cut to MaxLogValue (boundString), and a
// record logged with a request's context names the request (request_id).
type boundedHandler struct{ h slog.Handler }

// boundedLogger wraps log's handler in a boundedHandler.
func boundedLogger(log *slog.Logger) *slog.Logger {
	if _, ok := log.Handler().(boundedHandler); ok {
		return log
	}
	return slog.New(boundedHandler{log.Handler()})
}

func (b boundedHandler) Enabled(ctx context.Context, l slog.Level) bool { return b.h.Enabled(ctx, l) }

func (b boundedHandler) Handle(ctx context.Context, r slog.Record) error {
	// Most records are within bounds (every access log line without an error): they
	// pass as they are, without a copy.
	fits, hasID := len(r.Message) <= MaxLogValue, false
	r.Attrs(func(a slog.Attr) bool {
		hasID = hasID || a.Key == "request_id"
		fits = fits && withinBound(a)
		return true
	})
	if !fits {
		out := slog.NewRecord(r.Time, r.Level, boundString(r.Message), r.PC)
		r.Attrs(func(a slog.Attr) bool {
			out.AddAttrs(boundAttr(a))
			return true
		})
		r = out
	}
	if id := store.RequestID(ctx); id != "" && !hasID {
		r.AddAttrs(slog.String("request_id", id)) // r is this call's own copy
	}
	return b.h.Handle(ctx, r)
}

// withinBound reports an attribute that boundAttr would leave as it is, cheaply: values
// that format to a bounded length, and strings within the bound.
func withinBound(a slog.Attr) bool {
	if len(a.Key) > MaxLogValue {
		return false
	}
	switch a.Value.Kind() {
	case slog.KindString:
		return len(a.Value.String()) <= MaxLogValue
	case slog.KindInt64, slog.KindUint64, slog.KindFloat64, slog.KindBool, slog.KindDuration, slog.KindTime:
		return true
	}
	return false // errors, groups, anything formatted: boundAttr looks
}

func (b boundedHandler) WithAttrs(as []slog.Attr) slog.Handler {
	bounded := make([]slog.Attr, len(as))
	for i, a := range as {
		bounded[i] = boundAttr(a)
	}
	return boundedHandler{b.h.WithAttrs(bounded)}
}

func (b boundedHandler) WithGroup(name string) slog.Handler {
	return boundedHandler{b.h.WithGroup(boundString(name))}
}

func boundAttr(a slog.Attr) slog.Attr {
	a.Key = boundString(a.Key)
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(boundString(v.String()))
	case slog.KindGroup:
		group := v.Group()
		bounded := make([]slog.Attr, len(group))
		for i, g := range group {
			bounded[i] = boundAttr(g)
		}
		a.Value = slog.GroupValue(bounded...)
	case slog.KindAny:
		var s string
		if err, ok := v.Any().(error); ok {
			s = err.Error()
		} else {
			s = fmt.Sprint(v.Any())
		}
		if len(s) > MaxLogValue {
			a.Value = slog.StringValue(boundString(s))
		} else {
			a.Value = v
		}
	default:
		a.Value = v
	}
	return a
}

// boundString returns s when it has at most MaxLogValue bytes, else its first and last
// MaxLogValue/2 bytes (on character boundaries) around "…[N bytes cut]…".
func boundString(s string) string {
	if len(s) <= MaxLogValue {
		return s
	}
	head, tail := MaxLogValue/2, len(s)-MaxLogValue/2
	for head > 0 && !utf8.RuneStart(s[head]) {
		head--
	}
	for tail < len(s) && !utf8.RuneStart(s[tail]) {
		tail++
	}
	return s[:head] + "…[" + strconv.Itoa(tail-head) + " bytes cut]…" + s[tail:]
}
