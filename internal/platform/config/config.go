// Package config loads a process's configuration from the environment into a typed struct
// (go-envconfig tags with defaults), and describes it with secrets masked.
package config

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/sethvargo/go-envconfig"
)

// Load fills cfg from getenv. Fields carry `env:"NAME, default=..."` tags; Describe masks
// the whole value of a field tagged `secret:"true"`, and the secrets inside every other
// value (see Mask).
func Load(ctx context.Context, getenv func(string) string, cfg any) error {
	lookuper := envconfig.LookuperFunc(func(key string) (string, bool) {
		v := getenv(key)
		return v, v != ""
	})
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: cfg, Lookuper: lookuper}); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return nil
}

// Describe lists the configuration as NAME=value lines, sorted, secrets masked: what a
// process prints at start so that an operator sees what it runs with.
func Describe(cfg any) []string {
	var lines []string
	describe(reflect.ValueOf(cfg), "", &lines)
	sort.Strings(lines)
	return lines
}

func describe(v reflect.Value, prefix string, lines *[]string) {
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("env"), ",")
		if f.Type.Kind() == reflect.Struct && name == "" {
			// A nested configuration: `env:", prefix=S3_"` names its fields S3_...
			_, nested, _ := strings.Cut(opts, "prefix=")
			nested, _, _ = strings.Cut(nested, ",")
			describe(v.Field(i), prefix+strings.TrimSpace(nested), lines)
			continue
		}
		if name == "" {
			continue
		}
		name = prefix + name
		// Every value goes through Mask, so that a URL setting added without a tag cannot
		// print its password; the tag hides what is a secret as a whole (a key).
		value := Mask(fmt.Sprint(v.Field(i).Interface()))
		if f.Tag.Get("secret") == "true" && value != "" {
			value = masked
		}
		*lines = append(*lines, name+"="+value)
	}
}

const masked = "*****"

// Mask hides the secrets of a connection string, whatever its form, and keeps the rest
// readable: the password of a URL's userinfo (escaped or not), query parameters named like
// a secret (password, sslpassword, client_secret, access_token, ...), several URLs
// separated by commas or spaces, and libpq's keyword/value form ("host=db password='...'").
// It is the one masking of every value that may carry a credential: each value of the
// configuration printed at start, and errors and messages that name a database or Redis.
//
// Where a value is ambiguous it masks more rather than less: a value is printed before
// anything parses it, so a malformed one must not leak either.
func Mask(value string) string {
	if !strings.Contains(value, "://") {
		return maskKeywords(value)
	}
	var b strings.Builder
	for {
		// Only a comma or a space that starts a new URL separates two: other commas belong
		// to the URL (a list of hosts, or a password).
		loc := nextURL.FindStringIndex(value)
		if loc == nil {
			b.WriteString(maskURL(value))
			return b.String()
		}
		b.WriteString(maskURL(value[:loc[0]]))
		b.WriteByte(value[loc[0]])
		value = value[loc[0]+1:]
	}
}

var nextURL = regexp.MustCompile(`[,\s][A-Za-z][A-Za-z0-9+.-]*://`)

// maskURL masks one URL's password and secret query parameters.
func maskURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return maskKeywords(s)
	}
	var userinfo string
	// The userinfo ends at the last '@', not at the first '/' or '?' as a parser would
	// have it: a password with an unescaped '@', '/' or '?' must not show either.
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		userinfo, rest = rest[:at+1], rest[at+1:]
		if user, _, hasPassword := strings.Cut(userinfo, ":"); hasPassword {
			userinfo = user + ":" + masked + "@"
		}
	}
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		query, fragment, hasFragment := strings.Cut(rest[q+1:], "#")
		params := strings.Split(query, "&")
		for i, p := range params {
			if key, value, _ := strings.Cut(p, "="); value != "" && secretKey(key) {
				params[i] = key + "=" + masked
			}
		}
		rest = rest[:q+1] + strings.Join(params, "&")
		if hasFragment {
			rest += "#" + fragment
		}
	}
	return scheme + "://" + userinfo + rest
}

// maskKeywords masks the secret values of a libpq keyword/value string: values are bare
// words or single-quoted with backslash escapes, and spaces may surround '='. Anything
// else is kept as it is.
func maskKeywords(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		keyStart := skipSpaces(s, i)
		keyEnd := keyStart
		for keyEnd < len(s) && s[keyEnd] != '=' && !isSpace(s[keyEnd]) {
			keyEnd++
		}
		eq := skipSpaces(s, keyEnd)
		if eq == len(s) || s[eq] != '=' {
			b.WriteString(s[i:keyEnd])
			i = keyEnd
			continue
		}
		valueStart := skipSpaces(s, eq+1)
		end := valueEnd(s, valueStart)
		b.WriteString(s[i:valueStart])
		if end > valueStart && secretKey(s[keyStart:keyEnd]) {
			b.WriteString(masked)
		} else {
			b.WriteString(s[valueStart:end])
		}
		i = end
	}
	return b.String()
}

// valueEnd is where the keyword value starting at i ends. An unterminated quote runs to
// the end, so that the rest of a broken string is masked rather than shown.
func valueEnd(s string, i int) int {
	quoted := i < len(s) && s[i] == '\''
	if quoted {
		i++
	}
	for ; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case quoted && s[i] == '\'':
			return i + 1
		case !quoted && isSpace(s[i]):
			return i
		}
	}
	return len(s)
}

func skipSpaces(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// secretWords make a parameter secret when its name, lower-cased and without '_' or '-',
// contains one: Postgres's password and sslpassword, OAuth's client_secret and
// access_token, API keys, S3's pre-signed X-Amz-Signature and X-Amz-Security-Token.
var secretWords = []string{"password", "passwd", "pwd", "secret", "token", "apikey", "signature", "credential"}

func secretKey(key string) bool {
	if k, err := url.QueryUnescape(key); err == nil {
		key = k
	}
	key = strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(key))
	for _, w := range secretWords {
		if strings.Contains(key, w) {
			return true
		}
	}
	return false
}
