// Command relayext is a reference extension for `make bench`: the
// do-nothing extension (../noopext) plus a byte-for-byte TCP relay on the
// layer's proxy port (DESTINATIONS_PROXY_PORT) to the Runtime API. Run with
// the layer's wrapper, it is the floor of any Runtime API proxy: the
// runtime's calls take the extra loopback hop, and nothing reads them.
//
// It is built into a layer directory as extensions/relay, beside a copy of
// the layer's destinations-wrapper.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/lambda-destinations/lambda-destinations/internal/bench/extloop"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "relay extension:", err)
		os.Exit(1)
	}
}

func run() error {
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	port := os.Getenv("DESTINATIONS_PROXY_PORT")
	if port == "" {
		port = "9009"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		return err
	}
	go relay(ln, api)

	return extloop.Run(context.Background())
}

// relay copies bytes both ways between each connection and the Runtime API.
func relay(ln net.Listener, upstream string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				return
			}
			defer u.Close()
			done := make(chan struct{})
			go func() {
				_, _ = io.Copy(u, c)
				u.(*net.TCPConn).CloseWrite()
				close(done)
			}()
			_, _ = io.Copy(c, u)
			c.(*net.TCPConn).CloseWrite()
			<-done
		}()
	}
}
