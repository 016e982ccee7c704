package coinbase

// Exported views of the test helpers, for the external test package
// (serve_test.go).
var (
	NewUpstream        = newUpstream
	NewUpstreamBeating = newUpstreamBeating
	LoadSample         = loadSample
	Channels           = channels
)

func (u *upstream) URL() string   { return u.url() }
func (u *upstream) Next() *upConn { return u.next() }

func (c *upConn) First() subscription   { return c.first }
func (c *upConn) NextSub() subscription { return c.nextSub() }
func (c *upConn) Send(msgs ...string)   { c.send(msgs...) }
func (c *upConn) Drop()                 { c.drop() }

func (s sample) ByProduct(id string) []string { return s.byProduct[id] }
func (c *upConn) Stall()                      { c.stallNow() }
