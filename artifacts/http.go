package artifacts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// HTTPOptions configure HTTP stores. Zero values take the defaults.
type HTTPOptions struct {
	// ConnectTimeout bounds the TCP connect and the TLS handshake (default 10s).
	ConnectTimeout time.Duration
	// Timeout bounds one whole fetch, all attempts and the body (default 10m).
	Timeout time.Duration
	// IdleTimeout fails an attempt that receives nothing for this long,
	// headers or body (default 30s).
	IdleTimeout time.Duration
	// Retries after a 5xx/429 answer, a reset or a cut-off body (default 3;
	// negative: none). A cut-off body resumes with a Range request.
	Retries int
	// Backoff is the first retry's delay, doubled each time (default 500ms).
	Backoff time.Duration
	// CABundle is a PEM file of CAs trusted in addition to the system's.
	CABundle string
	// Headers are sent with every request (see ParseHeader).
	Headers http.Header
	// Client replaces the client built from the options above.
	Client *http.Client
}

func (o HTTPOptions) withDefaults() HTTPOptions {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Second
	}
	switch {
	case o.Retries == 0:
		o.Retries = 3
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	return o
}

// NewHTTPClient builds the client HTTP stores use: proxies from the
// environment, connect timeout, extra CAs, TLS verification unless
// insecure. It never touches http.DefaultClient.
func NewHTTPClient(o HTTPOptions, insecure bool) (*http.Client, error) {
	o = o.withDefaults()
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CABundle != "" {
		pem, err := os.ReadFile(o.CABundle)
		if err != nil {
			return nil, fmt.Errorf("CA bundle: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA bundle %s: no PEM certificate in it", o.CABundle)
		}
		tlsConf.RootCAs = pool
	}
	if insecure {
		tlsConf.InsecureSkipVerify = true
	}
	dialer := &net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: o.ConnectTimeout,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        16,
		IdleConnTimeout:     90 * time.Second,
		// Artifacts are fetched byte for byte: no transparent gzip, so sizes
		// and Range requests mean what they say.
		DisableCompression: true,
	}
	return &http.Client{Transport: tr}, nil
}

// ParseHeader parses "Name: value", refusing names that are not HTTP
// tokens and values with control characters (header injection).
func ParseHeader(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", fmt.Errorf("header %q: want \"Name: value\"", s)
	}
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if name == "" {
		return "", "", fmt.Errorf("header %q: empty name", s)
	}
	for _, c := range name {
		if c > 0x7e || c <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", c) {
			return "", "", fmt.Errorf("header %q: name has %q, not allowed in a header name", s, c)
		}
	}
	for _, c := range value {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return "", "", fmt.Errorf("header %q: value has control character %q", s, c)
		}
	}
	return http.CanonicalHeaderKey(name), value, nil
}

// HTTPStore is an HTTP(S) repository in the Falco layout.
type HTTPStore struct{ *layoutStore }

// NewHTTPStore returns the store for an http:// or https:// repository.
func NewHTTPStore(repo string, opts Options) (*HTTPStore, error) {
	o := opts.HTTP.withDefaults()
	client := o.Client
	if client == nil {
		var err error
		if client, err = NewHTTPClient(o, opts.Insecure); err != nil {
			return nil, err
		}
	}
	u, err := url.Parse(repo)
	if err != nil {
		return nil, fmt.Errorf("repo %q: %w", repo, err)
	}
	b := &httpBackend{repo: trimSlash(repo), origin: origin(u), o: o}
	// A copy: the redirect policy names this store's origin.
	c := *client
	c.CheckRedirect = b.checkRedirect
	b.client = &c
	return &HTTPStore{newLayoutStore(repo, b, opts)}, nil
}

type httpBackend struct {
	repo   string
	origin string // scheme://host:port of repo
	client *http.Client
	o      HTTPOptions
}

// ErrRedirect: a store redirected where kdriver does not follow (from
// https:// to plain http://).
var ErrRedirect = errors.New("redirect refused")

// origin is scheme://host:port, with the scheme's default port.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// checkRedirect never downgrades https to http, and sends the configured
// headers (tokens, often) only to the store's own origin: Go's client keeps
// custom headers across hosts, and a downgrade would send them in clear.
func (b *httpBackend) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("%w: stopped after 10 redirects", ErrRedirect)
	}
	if strings.EqualFold(via[0].URL.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https") {
		return fmt.Errorf("%w: %s redirects to %s: https to plain http", ErrRedirect, redact(via[len(via)-1].URL), redact(req.URL))
	}
	if origin(req.URL) != b.origin {
		for k := range b.o.Headers {
			req.Header.Del(k)
		}
	}
	return nil
}

// redact is the URL without credentials, query and fragment (presigned
// redirect targets carry tokens there), for messages and reports.
func redact(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.Fragment, c.RawFragment, c.ForceQuery = nil, "", "", "", false
	return c.String()
}

func (b *httpBackend) url(version, arch, file string) string {
	return layoutURL(b.repo, version, arch, file)
}

// Errors that end one attempt; their text goes into messages.
var (
	errStalled = errors.New("stalled")
	errTimeout = errors.New("timeout")
)

func (b *httpBackend) open(ctx context.Context, version, arch, file string) (io.ReadCloser, int64, string, error) {
	u := b.url(version, arch, file)
	// As on disk: no element may leave its folder ("..", "/").
	for _, c := range [][2]string{{"driver version", version}, {"arch", arch}, {"file", file}} {
		if err := checkName(c[0], c[1]); err != nil {
			return nil, -1, u, err
		}
	}
	return get(ctx, b.client, u, b.o, strings.HasSuffix(file, ".ko") || strings.HasSuffix(file, ".o"))
}

// Get opens url with the stores' policy (o's defaults for zero values):
// 5xx, 429 and connection failures retried with backoff, a cut-off body
// resumed with a Range request, the idle and overall timeouts; a 404 or
// 410 is ErrNotFound. It returns the body, its size (-1 unknown) and the
// URL that answered, after redirects (client's policy). o.Headers go with
// every request.
func Get(ctx context.Context, client *http.Client, url string, o HTTPOptions) (io.ReadCloser, int64, string, error) {
	return get(ctx, client, url, o.withDefaults(), false)
}

// get is Get with o's defaults applied; artifact refuses an HTML page.
func get(ctx context.Context, client *http.Client, u string, o HTTPOptions, artifact bool) (io.ReadCloser, int64, string, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, o.Timeout, errTimeout)
	body := &httpBody{client: client, o: o, ctx: ctx, cancelAll: cancel, url: u, final: u, total: -1, artifact: artifact}
	if err := body.connect(); err != nil {
		cancel()
		return nil, -1, u, err
	}
	// Where the bytes come from: the end of any redirects.
	return body, body.total, body.final, nil
}

// httpBody streams one file, resuming with Range after a cut-off.
type httpBody struct {
	client    *http.Client
	o         HTTPOptions     // with defaults
	ctx       context.Context // the whole fetch, with the overall timeout
	cancelAll context.CancelFunc
	url       string
	artifact  bool

	cur      io.ReadCloser
	attempt  context.Context
	cancel   context.CancelCauseFunc
	idle     *time.Timer
	read     int64
	total    int64
	etag     string
	final    string // the URL that answered, after redirects
	attempts int
}

// connect starts an attempt (at b.read), retrying 5xx, 429 and
// connection failures with backoff.
func (h *httpBody) connect() error {
	var last error
	for {
		if h.attempts > 0 {
			if h.attempts > h.o.Retries {
				return fmt.Errorf("GET %s: %w (gave up after %d attempts)", h.url, last, h.attempts)
			}
			if err := h.sleep(); err != nil {
				return h.ctxErr(last)
			}
		}
		h.attempts++
		err, retry := h.try()
		if err == nil {
			return nil
		}
		if !retry {
			return fmt.Errorf("GET %s: %w", h.url, err)
		}
		last = err
	}
}

func (h *httpBody) sleep() error {
	d := h.o.Backoff << (h.attempts - 1)
	if d > 10*time.Second || d <= 0 {
		d = 10 * time.Second
	}
	d += rand.N(d/4 + 1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-h.ctx.Done():
		return h.ctx.Err()
	case <-t.C:
		return nil
	}
}

// try makes one request; retry says whether another attempt may help.
func (h *httpBody) try() (err error, retry bool) {
	actx, cancel := context.WithCancelCause(h.ctx)
	h.attempt, h.cancel = actx, cancel
	h.idle = time.AfterFunc(h.o.IdleTimeout, func() { cancel(errStalled) })
	defer func() {
		if err != nil {
			h.stop()
		}
	}()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, h.url, nil)
	if err != nil {
		return err, false
	}
	for k, vs := range h.o.Headers {
		req.Header[k] = vs
	}
	if h.read > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(h.read, 10)+"-")
		if h.etag != "" {
			req.Header.Set("If-Range", h.etag)
		}
	}
	resp, err := h.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is named once, by connect
		}
		err = h.attemptErr(err)
		return err, retryable(err)
	}
	switch {
	case resp.StatusCode == http.StatusOK || (resp.StatusCode == http.StatusPartialContent && h.read > 0):
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		resp.Body.Close()
		return fmt.Errorf("%w: %s", ErrNotFound, resp.Status), false
	default:
		resp.Body.Close()
		e := &StatusError{Code: resp.StatusCode, Status: resp.Status}
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return e, true
		}
		return e, false
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "text/html" && h.artifact {
		resp.Body.Close()
		return fmt.Errorf("%w: served an HTML page (%s) with %s, not a driver: check the repo URL and any proxy or captive portal", ErrIntegrity, ct, resp.Status), false
	}
	if resp.StatusCode == http.StatusPartialContent {
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != h.read {
			resp.Body.Close()
			return fmt.Errorf("resume at %d: server sent Content-Range %q", h.read, resp.Header.Get("Content-Range")), false
		}
	} else if h.read > 0 {
		// The server ignored Range: skip what we already have.
		if _, err := io.CopyN(io.Discard, resp.Body, h.read); err != nil {
			resp.Body.Close()
			err = h.attemptErr(err)
			return err, retryable(err)
		}
	}
	if h.total < 0 && resp.StatusCode == http.StatusOK {
		h.total = resp.ContentLength
		h.etag = resp.Header.Get("ETag")
		h.final = redact(resp.Request.URL)
	}
	h.cur = resp.Body
	return nil, false
}

// StatusError is an HTTP answer that is neither success nor a miss.
type StatusError struct {
	Code   int
	Status string
}

func (e *StatusError) Error() string { return e.Status }

// isDenied reports a 401/403: S3-style mirrors answer 403 for a missing
// object when listing is not allowed.
func isDenied(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && (se.Code == http.StatusForbidden || se.Code == http.StatusUnauthorized)
}

func contentRangeStart(cr string) (int64, bool) {
	s, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0, false
	}
	s, _, _ = strings.Cut(s, "-")
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func (h *httpBody) stop() {
	if h.idle != nil {
		h.idle.Stop()
	}
	if h.cancel != nil {
		h.cancel(nil)
	}
	if h.cur != nil {
		h.cur.Close()
		h.cur = nil
	}
}

// attemptErr names why an attempt ended: the idle or overall timeout.
func (h *httpBody) attemptErr(err error) error {
	if h.attempt != nil {
		switch context.Cause(h.attempt) {
		case errStalled:
			return fmt.Errorf("%w: no data for %s (idle timeout)", errStalled, h.o.IdleTimeout)
		case errTimeout:
			return fmt.Errorf("%w: not complete within %s (overall timeout)", errTimeout, h.o.Timeout)
		}
	}
	return err
}

// ctxErr is the error when the fetch's context ended.
func (h *httpBody) ctxErr(last error) error {
	if context.Cause(h.ctx) == errTimeout {
		return fmt.Errorf("GET %s: %w: not complete within %s (overall timeout); last error: %v", h.url, errTimeout, h.o.Timeout, last)
	}
	return h.ctx.Err()
}

func retryable(err error) bool {
	if errors.Is(err, errTimeout) || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, errStalled) ||
		(errors.As(err, &ne) && ne.Timeout())
}

func (h *httpBody) Read(p []byte) (int, error) {
	for {
		if h.cur == nil {
			return 0, errors.New("read after failure")
		}
		n, err := h.cur.Read(p)
		if n > 0 {
			h.read += int64(n)
			h.idle.Reset(h.o.IdleTimeout)
		}
		if err == nil || err == io.EOF {
			return n, err
		}
		if h.ctx.Err() != nil && context.Cause(h.ctx) != errTimeout {
			h.stop()
			return n, h.ctx.Err()
		}
		err = h.attemptErr(err)
		h.stop()
		if !retryable(err) || h.attempts > h.o.Retries {
			return n, fmt.Errorf("%w after %d of %s bytes (%d attempts)", err, h.read, sizeString(h.total), h.attempts)
		}
		if cerr := h.connect(); cerr != nil {
			return n, fmt.Errorf("%w (resuming after: %v)", cerr, err)
		}
		if n > 0 {
			return n, nil
		}
	}
}

func sizeString(n int64) string {
	if n < 0 {
		return "?"
	}
	return strconv.FormatInt(n, 10)
}

func (h *httpBody) Close() error {
	h.stop()
	h.cancelAll()
	return nil
}
