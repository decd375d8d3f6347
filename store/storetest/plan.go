package storetest

import "github.com/townsquare/townsquare/store"

// acceptAll applies a mapping change whatever it removes: the tests of what a change
// does, as against whether it is allowed (plan.go's tests).
var acceptAll = store.ApplyOptions{AcceptRemovals: true}
