package server

import (
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func TestKeyedLimiterTake(t *testing.T) {
	clock := newFakeClock()
	k := newKeyedLimiter(2, 3, 10, clock.now) // 2 a second, 3 at once
	for i := range 3 {
		if wait, ok := k.take("okta"); !ok || wait != 0 {
			t.Fatalf("request %d of the burst: %v %v", i+1, wait, ok)
		}
	}
	wait, ok := k.take("okta")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("beyond the burst: wait %v ok %v, want 500ms and refused", wait, ok)
	}
	// A refusal spends nothing: after the wait it named, one request passes, then not.
	if _, ok := k.take("entra"); !ok {
		t.Fatal("another key shares the bucket")
	}
	clock.advance(wait)
	if _, ok := k.take("okta"); !ok {
		t.Fatal("refused after the announced wait")
	}
	if _, ok := k.take("okta"); ok {
		t.Fatal("passed with an empty bucket")
	}
	// Idle for long enough, the whole burst is back.
	clock.advance(2 * time.Second)
	for i := range 3 {
		if _, ok := k.take("okta"); !ok {
			t.Fatalf("request %d of the refilled burst refused", i+1)
		}
	}
}

// takeMore charges the rest of a request that costs more than one (a bulk request):
// all of it or nothing, with the wait until the whole request, sent again, is covered.
func TestKeyedLimiterTakeMore(t *testing.T) {
	clock := newFakeClock()
	k := newKeyedLimiter(2, 6, 10, clock.now) // 2 a second, 6 at once
	for _, tc := range []struct {
		name     string
		take     bool // the request's own one, as require takes it
		more     int
		wantOK   bool
		wantWait time.Duration
	}{
		{"1+4 of 6", true, 4, true, 0},
		{"1+1 of the last 1: refused, the 1 kept", true, 1, false, time.Second}, // holds 0, the retry needs 2
		{"nothing more costs nothing", false, 0, true, 0},
	} {
		if tc.take {
			if _, ok := k.take("okta"); !ok {
				t.Fatalf("%s: the request's own one was refused", tc.name)
			}
		}
		wait, ok := k.takeMore("okta", tc.more)
		if ok != tc.wantOK || wait != tc.wantWait {
			t.Fatalf("%s: wait %v ok %v, want %v %v", tc.name, wait, ok, tc.wantWait, tc.wantOK)
		}
	}
	// Sent again after the wait, the whole request (1+1) is covered, and nothing more.
	clock.advance(time.Second)
	if _, ok := k.take("okta"); !ok {
		t.Fatal("the retried request was refused")
	}
	if _, ok := k.takeMore("okta", 1); !ok {
		t.Fatal("the retried request's rest was refused")
	}
	if _, ok := k.take("okta"); ok {
		t.Fatal("more than the budget was covered")
	}
	// A refusal of the rest spends nothing of it: 3 held, 4 asked, 3 still held.
	clock.advance(1500 * time.Millisecond)
	if wait, ok := k.takeMore("okta", 4); ok || wait != time.Second {
		t.Fatalf("4 of 3: wait %v ok %v, want 1s (5 needed) and refused", wait, ok)
	}
	if _, ok := k.takeMore("okta", 3); !ok {
		t.Fatal("the 3 held were spent by a refusal")
	}
	var none *keyedLimiter
	if _, ok := none.takeMore("x", 1000); !ok {
		t.Fatal("a nil limiter refused")
	}
}

func TestKeyedLimiterEmptyAndSpend(t *testing.T) {
	clock := newFakeClock()
	k := newKeyedLimiter(1, 2, 10, clock.now)
	if _, empty := k.empty("192.0.2.1"); empty {
		t.Fatal("an unknown key is empty")
	}
	k.spend("192.0.2.1")
	if _, empty := k.empty("192.0.2.1"); empty {
		t.Fatal("empty after one of two")
	}
	k.spend("192.0.2.1")
	wait, empty := k.empty("192.0.2.1")
	if !empty || wait != time.Second {
		t.Fatalf("after the burst: wait %v empty %v, want 1s and empty", wait, empty)
	}
	k.spend("192.0.2.1") // spending an empty bucket does not push the wait further
	if wait, _ := k.empty("192.0.2.1"); wait != time.Second {
		t.Fatalf("wait grew to %v", wait)
	}
	clock.advance(time.Second)
	if _, empty := k.empty("192.0.2.1"); empty {
		t.Fatal("still empty after the wait")
	}
}

func TestKeyedLimiterOff(t *testing.T) {
	for _, tc := range []struct {
		rate  float64
		burst int
	}{{0, 10}, {10, 0}, {0, 0}, {-1, 5}} {
		k := newKeyedLimiter(tc.rate, tc.burst, 10, time.Now)
		if k != nil {
			t.Fatalf("rate %v burst %d: a limiter, want none", tc.rate, tc.burst)
		}
		for range 100 {
			if _, ok := k.take("x"); !ok {
				t.Fatal("a nil limiter refused")
			}
			k.spend("x")
			if _, empty := k.empty("x"); empty {
				t.Fatal("a nil limiter is empty")
			}
		}
	}
}

// However many distinct clients come, the limiter remembers at most its bound, and the
// clients it keeps are the most recent ones.
func TestKeyedLimiterMemoryIsBounded(t *testing.T) {
	clock := newFakeClock()
	k := newKeyedLimiter(1, 1, maxLimitedAddresses, clock.now)
	for i := range maxLimitedAddresses * 3 {
		k.spend("10.0." + strconv.Itoa(i))
	}
	if n := k.size(); n != maxLimitedAddresses {
		t.Fatalf("remembers %d keys, bound is %d", n, maxLimitedAddresses)
	}
	if _, empty := k.empty("10.0." + strconv.Itoa(maxLimitedAddresses*3-1)); !empty {
		t.Fatal("the most recent key was forgotten")
	}
	if _, empty := k.empty("10.0.0"); empty {
		t.Fatal("the oldest key is still remembered")
	}
}

func TestClientKey(t *testing.T) {
	for _, tc := range []struct{ remote, want string }{
		{"192.0.2.7:5000", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:5000", "192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:80", "fe80::/64"},
		{"[::1]:80", "::/64"},
		{"not-an-address", "not-an-address"},
		{"@", "@"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if got := clientKey(r); got != tc.want {
			t.Errorf("clientKey(%q) = %q, want %q", tc.remote, got, tc.want)
		}
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", time.Millisecond: "1", time.Second: "1",
		1001 * time.Millisecond: "2", 90 * time.Second: "90"} {
		if got := retryAfterSeconds(d); got != want {
			t.Errorf("retryAfterSeconds(%v) = %q, want %q", d, got, want)
		}
	}
}
