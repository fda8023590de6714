// Package config loads a process's configuration from the environment into a typed struct
// (go-envconfig tags with defaults), and describes it with secrets masked.
package config

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"

	"github.com/sethvargo/go-envconfig"
)

// Load fills cfg from getenv. Fields carry `env:"NAME, default=..."` tags; Describe masks a
// field tagged `secret:"true"`, and only the password of one tagged `secret:"url"`.
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
		value := fmt.Sprint(v.Field(i).Interface())
		switch f.Tag.Get("secret") {
		case "true":
			if value != "" {
				value = "*****"
			}
		case "url":
			if u, err := url.Parse(value); err == nil && u.User != nil {
				if pw, hasPassword := u.User.Password(); hasPassword {
					value = strings.Replace(value, ":"+pw+"@", ":*****@", 1)
				}
			}
		}
		*lines = append(*lines, name+"="+value)
	}
}
