package main

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// The CLI's driver of the shared admin scenarios (admin_scenarios_test.go): each step is
// run(ctx, args… --database dsn [--config mapping]), and what it said is its stdout and stderr and the
// error main would print.

func init() {
	adminDrivers["cli"] = func(t *testing.T, dsn, configPath string) adminDriver {
		return cliDriver{dsn: dsn, configPath: configPath}
	}
}

type cliDriver struct{ dsn, configPath string }

func (d cliDriver) do(t *testing.T, s adminStep) (said, code string) {
	t.Helper()
	var out bytes.Buffer
	args := append(slices.Clone(s.args), "--database", d.dsn)
	if d.configPath != "" {
		args = append(args, "--config", d.configPath)
	}
	err := run(context.Background(), args, &out, &out)
	if err != nil {
		out.WriteString("townsquare: " + err.Error() + "\n")
	}
	return out.String(), cliCode(err)
}

// cliCode is the stable code of a command's error: "usage" for a command line refused
// before any store call, else the store's code.
func cliCode(err error) string {
	var u *usageError
	if errors.As(err, &u) {
		return "usage"
	}
	return store.ErrorCode(err)
}
