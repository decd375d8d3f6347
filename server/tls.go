package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// CertReloader serves a TLS certificate from a certificate file and a key file (PEM),
// and reads them again when told (Reload: townsquare serve calls it on SIGHUP) or when
// either file changes (Watch), so that a renewed certificate is served without a
// restart. A pair that cannot be loaded, or whose key does not match, is logged and the
// pair in use is kept: a half-written renewal never takes the server down.
type CertReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu    sync.RWMutex
	cert  *tls.Certificate
	stamp fileStamp // of the files the certificate in use was read from
}

// fileStamp is what Watch compares to tell that a file changed.
type fileStamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// NewCertReloader loads the pair once; an error here stops the server at start.
func NewCertReloader(certFile, keyFile string, log *slog.Logger) (*CertReloader, error) {
	c := &CertReloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

// TLSConfig is the server side of TLS with c's certificate: TLS 1.2 at least, HTTP/1.1.
func (c *CertReloader) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.GetCertificate, NextProtos: []string{"http/1.1"}}
}

// GetCertificate returns the certificate in use (tls.Config.GetCertificate).
func (c *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.cert, nil
}

// Reload reads the pair again; on failure it logs why, keeps the pair in use and
// returns the error.
func (c *CertReloader) Reload() error {
	if err := c.load(); err != nil {
		c.log.Error("TLS certificate not reloaded; the previous one stays in use", "cert", c.certFile, "key", c.keyFile, "err", err)
		return err
	}
	c.log.Info("TLS certificate reloaded", "cert", c.certFile, "expires", c.leafExpiry())
	return nil
}

// Watch checks the files every interval until ctx ends, and reloads the pair when either
// changed (modification time or size). A failed reload is tried again at the next change.
func (c *CertReloader) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		stamp, err := c.stampNow()
		c.mu.RLock()
		changed := err == nil && stamp != c.stamp
		c.mu.RUnlock()
		if changed {
			if c.Reload() != nil {
				c.mu.Lock()
				c.stamp = stamp // this version of the files is bad: wait for the next
				c.mu.Unlock()
			}
		}
	}
}

func (c *CertReloader) load() error {
	stamp, err := c.stampNow()
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cert, c.stamp = &cert, stamp
	return nil
}

func (c *CertReloader) stampNow() (fileStamp, error) {
	ci, err := os.Stat(c.certFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("TLS certificate: %w", err)
	}
	ki, err := os.Stat(c.keyFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("TLS key: %w", err)
	}
	return fileStamp{certMod: ci.ModTime(), keyMod: ki.ModTime(), certSize: ci.Size(), keySize: ki.Size()}, nil
}

func (c *CertReloader) leafExpiry() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.cert.Leaf == nil {
		return ""
	}
	return c.cert.Leaf.NotAfter.UTC().Format(time.RFC3339)
}

// IsLoopback reports whether addr (host:port) listens on a loopback address only: an IP
// literal in 127.0.0.0/8 or ::1, or a host name all of whose addresses are. An empty or
// unspecified host (":8080", "0.0.0.0", "::") listens on every interface: not loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap().IsLoopback()
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return false
		}
	}
	return true
}
