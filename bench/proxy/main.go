// Command proxy is the benchmark's load balancer for -nodes N: a
// round-robin reverse proxy (net/http/httputil.ReverseProxy) in front of
// the backends given with -backends, the N latchkey nodes or the N ceiling
// servers. The same code sits in front of both, so "proxy → ceiling" is the
// proxy's own ceiling on this machine, and latchkey through it is measured
// against that.
//
// It is a process of its own, built like bench/ceiling, rather than a
// handler inside the bench process: the load generator then does not share
// a Go runtime (scheduler, garbage collector, GOMAXPROCS) with the proxy,
// so neither slows the other down more than a separate balancer would.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	backends := flag.String("backends", "", "comma-separated host:port of the servers to balance over")
	flag.Parse()
	var targets []string
	for b := range strings.SplitSeq(*backends, ",") {
		if b = strings.TrimSpace(b); b != "" {
			targets = append(targets, b)
		}
	}
	if len(targets) == 0 {
		log.Fatal("proxy: -backends is empty")
	}
	// Enough idle connections per backend that every client connection's
	// request finds one kept alive (the load uses up to a few hundred).
	tr := &http.Transport{
		MaxIdleConns: 256 * len(targets), MaxIdleConnsPerHost: 256,
		IdleConnTimeout: time.Minute, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
	var next atomic.Uint64
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			t := targets[(next.Add(1)-1)%uint64(len(targets))]
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", t
			// What a balancer adds; latchkey ignores it without
			// --trusted-proxies, and the ceiling ignores it.
			pr.SetXForwarded()
		},
		Transport: tr,
		// The load generator counts the 502s and shows the first one's
		// body: the error goes there, not to a log.
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
		},
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String()) // the benchmark reads the address here
	log.Fatal(http.Serve(ln, rp))
}
