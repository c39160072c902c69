// Command ceiling is the benchmark's reference server: a bare net/http
// handler that answers each scenario's route with a stored JSON body of the
// same size as Latchkey's answer, and does no other work. What it reaches
// on this machine is the ceiling Latchkey is measured against.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// route is one scenario's canned answer.
type route struct {
	Method string `json:"method"`
	Prefix string `json:"prefix"` // path prefix to match
	// Contains, when set, must also appear in the request URI (path and
	// query), to tell apart routes that share a prefix.
	Contains string `json:"contains"`
	Status   int    `json:"status"`
	Body     string `json:"body"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	routesFile := flag.String("routes", "", "JSON file of routes")
	flag.Parse()
	raw, err := os.ReadFile(*routesFile)
	if err != nil {
		log.Fatal(err)
	}
	var routes []route
	if err := json.Unmarshal(raw, &routes); err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String()) // the benchmark reads the address here
	bodies := make([][]byte, len(routes))
	lengths := make([]string, len(routes))
	for i, r := range routes {
		bodies[i] = []byte(r.Body)
		lengths[i] = strconv.Itoa(len(r.Body))
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i, rt := range routes {
			if r.Method == rt.Method && strings.HasPrefix(r.URL.Path, rt.Prefix) && strings.Contains(r.RequestURI, rt.Contains) {
				// Read the request body as a real server would.
				buf := make([]byte, 4096)
				for {
					if _, err := r.Body.Read(buf); err != nil {
						break
					}
				}
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", lengths[i])
				w.WriteHeader(rt.Status)
				_, _ = w.Write(bodies[i])
				return
			}
		}
		http.NotFound(w, r)
	})
	log.Fatal(http.Serve(ln, h))
}
