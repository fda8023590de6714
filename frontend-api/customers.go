package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/durapay/durapay/internal/domain/customers"
	"github.com/durapay/durapay/internal/platform/envelope"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

var customerIDPattern = regexp.MustCompile(`^cust_[a-z2-7]{24}$`)

// createCustomerBody is POST /v1/customers.
type createCustomerBody struct {
	Email       string            `json:"email"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Metadata    map[string]string `json:"metadata"`
}

// createCustomer creates a Stripe Customer and Durapay's record of it, usable as the
// customer of payments. The email and name are sealed before they leave this handler.
func (s *server) createCustomer(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	merchantID := merchantFrom(ctx)
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var body createCustomerBody
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	switch {
	case !validEmail(body.Email):
		return newError(codeParameterInvalid, "email", "email must be an email address.")
	case strings.TrimSpace(body.Name) == "" || len(body.Name) > 200:
		return newError(codeParameterInvalid, "name", "name is required, at most 200 characters.")
	case len(body.Description) > maxDescriptionLength:
		return newError(codeParameterInvalid, "description", fmt.Sprintf("description must be at most %d characters.", maxDescriptionLength))
	}
	if err := validateMetadata(body.Metadata); err != nil {
		return err
	}
	id := schemas.CustomerID(merchantID, key)
	sealed, err := envelope.Seal(s.dataKeys, schemas.CustomerProfile{Email: body.Email, Name: body.Name}, schemas.CustomerPurpose(id))
	if err != nil {
		return err
	}
	in := schemas.CustomerInput{CustomerID: id, MerchantID: merchantID, SealedProfile: sealed, Description: body.Description,
		Metadata: body.Metadata, IdempotencyKey: key, RequestHash: fingerprint(body)}
	return createOnce(s, w, r, creation[schemas.Customer]{
		key: key, requestHash: in.RequestHash, service: "The customer service",
		recorded: func(ctx context.Context) (schemas.Customer, string, error) {
			c, err := customers.OfMerchant(ctx, s.pool, merchantID, id)
			return c.Customer, c.RequestHash, err
		},
		start: func(ctx context.Context) (schemas.Customer, bool, error) {
			c, err := s.workflows.CreateCustomer(ctx, in)
			return c, false, err
		},
		answer: func(w http.ResponseWriter, c schemas.Customer, replayed bool) error {
			writeCreated(w, c, replayed)
			return nil
		},
		pending: func() schemas.Customer {
			return schemas.Customer{ID: id, Object: "customer", Merchant: merchantID, Description: in.Description,
				Metadata: nonNil(in.Metadata), Created: time.Now().Unix()}
		},
	})
}

// getCustomer is GET /v1/customers/{id}.
func (s *server) getCustomer(w http.ResponseWriter, r *http.Request) error {
	c, err := s.findCustomer(r.Context(), merchantFrom(r.Context()), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// findCustomer reads the merchant's customer; another merchant's is as missing as none.
func (s *server) findCustomer(ctx context.Context, merchantID, id string) (schemas.Customer, error) {
	notFound := newError(codeResourceMissing, "customer", "No such customer: '"+id+"'")
	if !customerIDPattern.MatchString(id) {
		return schemas.Customer{}, notFound
	}
	c, err := customers.OfMerchant(ctx, s.pool, merchantID, id)
	if errors.Is(err, pg.ErrNotFound) {
		return schemas.Customer{}, notFound
	}
	return c.Customer, err
}
