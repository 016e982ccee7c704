// Command bare is the floor under tickerd's resume storm on this machine:
// a server that does nothing but what a resume needs of the kernel (accept,
// read a request, answer it, read a subscribe, write 100 stored trade
// frames in one write, close the old socket) and a client that reconnects
// N connections at once, 1,024 in flight, timing each from its subscribe
// to the arrival of the last replayed byte. With -tape R the server also
// writes a 100-byte frame to every connection R times a second, as the
// live tape of the trades scenario does.
//
//	taskset -c 0 go run . -serve 127.0.0.1:9911 -tape 10 &
//	taskset -c 1 go run . -dial 127.0.0.1:9911 -n 10000
//
// Not part of tickerd: a measurement, kept with its results.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"slices"
	"sync"
	"time"
)

func main() {
	serve := flag.String("serve", "", "listen address (server mode)")
	tape := flag.Float64("tape", 0, "server: frames per second to every connection")
	dial := flag.String("dial", "", "server address (client mode)")
	n := flag.Int("n", 10000, "client: connections")
	inflight := flag.Int("inflight", 1024, "client: reconnects in flight")
	flag.Parse()
	switch {
	case *serve != "":
		server(*serve, *tape)
	case *dial != "":
		client(*dial, *n, *inflight)
	default:
		flag.Usage()
		os.Exit(2)
	}
}

const reqLen = 200 // an upgrade request
const subLen = 80  // a subscribe with since

var (
	response = []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
	replay   = bytes.Repeat([]byte("R"), 100*100) // 100 trade frames of ~100 bytes
	tick     = bytes.Repeat([]byte("T"), 100)
)

func server(addr string, tape float64) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	if tape > 0 {
		go func() {
			for range time.Tick(time.Duration(float64(time.Second) / tape)) {
				mu.Lock()
				all := make([]net.Conn, 0, len(conns))
				for c := range conns {
					all = append(all, c)
				}
				mu.Unlock()
				for _, c := range all {
					_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond)) // a full socket skips the tick
					_, _ = c.Write(tick)
				}
			}
		}()
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			defer c.Close()
			b := make([]byte, reqLen)
			if _, err := io.ReadFull(c, b); err != nil {
				return
			}
			if _, err := c.Write(response); err != nil {
				return
			}
			if _, err := io.ReadFull(c, b[:subLen]); err != nil {
				return
			}
			if _, err := c.Write(replay); err != nil {
				return
			}
			mu.Lock()
			conns[c] = true // the tape from now on
			mu.Unlock()
			defer func() { mu.Lock(); delete(conns, c); mu.Unlock() }()
			_, _ = io.Copy(io.Discard, c) // until the client closes
		}()
	}
}

func open(addr string, i int) (net.Conn, *bufio.Reader, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%8))}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	if _, err := c.Write(make([]byte, reqLen)); err != nil {
		return nil, nil, err
	}
	r := bufio.NewReaderSize(c, 4096)
	if _, err := io.ReadFull(r, make([]byte, len(response))); err != nil {
		return nil, nil, err
	}
	return c, r, nil
}

func client(addr string, n, inflight int) {
	// The connections the storm replaces, reading the tape meanwhile.
	old := make([]net.Conn, n)
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		c, r, err := open(addr, i)
		if err == nil {
			_, err = c.Write(make([]byte, subLen))
		}
		if err == nil {
			_, err = io.ReadFull(r, make([]byte, len(replay)))
		}
		<-sem
		if err != nil {
			log.Fatal(err)
		}
		old[i] = c
		go func() { _, _ = io.Copy(io.Discard, r) }()
	}
	log.Printf("%d connections open; the storm in 3 s", n)
	time.Sleep(3 * time.Second)
	lat := make([]time.Duration, n)
	start := time.Now()
	sem = make(chan struct{}, inflight)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			old[i].Close()
			c, r, err := open(addr, i)
			if err != nil {
				log.Fatal(err)
			}
			sub := time.Now()
			if _, err := c.Write(make([]byte, subLen)); err != nil {
				log.Fatal(err)
			}
			if _, err := io.ReadFull(r, make([]byte, len(replay))); err != nil {
				log.Fatal(err)
			}
			lat[i] = time.Since(sub)
			go func() { _, _ = io.Copy(io.Discard, r) }()
		}()
	}
	wg.Wait()
	all := time.Since(start)
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[int(p*float64(n-1))].Round(time.Millisecond) }
	fmt.Printf("%d reconnects in %v; subscribe to last replayed byte: p50 %v p90 %v p99 %v max %v\n",
		n, all.Round(time.Millisecond), q(0.5), q(0.9), q(0.99), lat[n-1].Round(time.Millisecond))
}
