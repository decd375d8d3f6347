package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPU and memory of the processes under test, read from /proc (Linux only; elsewhere the
// figures stay empty). Only reading: the tool never signals a process it did not start.

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuOf returns the user+system CPU time of pid, or false if it cannot be read.
func cpuOf(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may contain spaces; fields after the last ')' are fixed.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	// After ')': state(3) ppid(4) ... utime is field 14, stime 15 (1-based over the line).
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * time.Second / clockTicks, true
}

// memOf returns VmRSS and VmHWM of pid in MB.
func memOf(pid int) (rss, hwm float64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, found := strings.Cut(line, ":")
		if !found {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rss = n / 1024
		case "VmHWM":
			hwm = n / 1024
		}
	}
	return rss, hwm, true
}

// pidsByComm lists the processes whose command name starts with prefix.
func pidsByComm(prefix string) []int {
	if prefix == "" {
		return nil
	}
	matches, _ := filepath.Glob("/proc/[0-9]*/comm")
	var out []int
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(string(b)), prefix) {
			if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(m))); err == nil {
				out = append(out, pid)
			}
		}
	}
	return out
}

// cpuSample is the CPU used so far by the client, the servers and the database.
type cpuSample struct {
	client, server, db time.Duration
	haveServer, haveDB bool
}

type watcher struct {
	serverPIDs []int
	dbComm     string
}

func (w watcher) sample() cpuSample {
	var s cpuSample
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.client = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	for _, pid := range w.serverPIDs {
		if d, ok := cpuOf(pid); ok {
			s.server += d
			s.haveServer = true
		}
	}
	for _, pid := range pidsByComm(w.dbComm) {
		if d, ok := cpuOf(pid); ok {
			s.db += d
			s.haveDB = true
		}
	}
	return s
}

// memory returns the summed RSS and peak RSS of the servers, in MB.
func (w watcher) memory() (rss, hwm float64) {
	for _, pid := range w.serverPIDs {
		if r, h, ok := memOf(pid); ok {
			rss += r
			hwm += h
		}
	}
	return rss, hwm
}

// apply fills the per-operation CPU and memory figures of p from two samples.
func (w watcher) apply(p *Phase, before, after cpuSample) {
	if p.Requests == 0 {
		return
	}
	per := func(d time.Duration) float64 {
		return float64(d.Microseconds()) / 1000 / float64(p.Requests)
	}
	p.ClientCPUms = round3(per(after.client - before.client))
	if after.haveServer {
		p.ServerCPUms = round3(per(after.server - before.server))
	}
	if after.haveDB && after.db >= before.db {
		p.DBCPUms = round3(per(after.db - before.db))
	}
	p.ServerRSSMB, p.ServerHWMMB = w.memory()
}

func round3(v float64) float64 {
	return float64(int64(v*1000+0.5)) / 1000
}
