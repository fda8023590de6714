package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// decodeJSON reads a JSON request body into dst: application/json only, at most
// MAX_BODY_BYTES, no unknown fields, exactly one value. Every failure is a 4xx that names
// what is wrong.
func (s *server) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return newError(codeUnsupportedMediaType, "", "Send the request body as JSON with Content-Type: application/json.")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		if dec.Decode(new(json.RawMessage)) != io.EOF {
			return newError(codeInvalidJSON, "", "The request body must hold a single JSON object.")
		}
		return nil
	}
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		tooLarge  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return newError(codeRequestTooLarge, "", fmt.Sprintf("The request body exceeds %d bytes.", tooLarge.Limit))
	case errors.As(err, &syntaxErr):
		return newError(codeInvalidJSON, "", fmt.Sprintf("The request body is not valid JSON (at byte %d).", syntaxErr.Offset))
	case errors.As(err, &typeErr):
		return newError(codeParameterInvalid, typeErr.Field, fmt.Sprintf("%s must be a JSON %s.", typeErr.Field, jsonKind(typeErr.Type.Kind().String())))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return newError(codeInvalidJSON, "", "The request body is empty or cut short.")
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field = strings.Trim(field, `"`)
		return newError(codeParameterUnknown, field, "Received unknown parameter: "+field)
	}
	return newError(codeInvalidJSON, "", "The request body could not be read as JSON.")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int64", "int", "int32":
		return "integer"
	case "map", "struct":
		return "object"
	default:
		return goKind
	}
}
