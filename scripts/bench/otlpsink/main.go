// Command otlpsink is a local OTLP trace receiver for benchmarks: it
// accepts spans over gRPC or HTTP/protobuf on loopback, counts them and
// discards them. It prints its endpoint on start and the counts when
// stopped with SIGINT or SIGTERM.
//
//	otlpsink -protocol grpc -addr 127.0.0.1:0
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/fusiondata/fusion/services/runtime/telemetry/otlptest"
)

func main() {
	protocol := flag.String("protocol", "grpc", "grpc or http/protobuf")
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	start := otlptest.StartGRPC
	if *protocol == "http/protobuf" {
		start = otlptest.StartHTTP
	}
	rcv, err := start(*addr, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(rcv.Endpoint)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	rcv.Close()
	fmt.Printf("spans %d requests %d\n", rcv.Count(), rcv.Requests())
}
