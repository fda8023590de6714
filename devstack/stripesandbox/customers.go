package stripesandbox

type customer struct {
	ID          string            `json:"id"`
	Object      string            `json:"object"`
	Created     int64             `json:"created"`
	Description *string           `json:"description"`
	Email       *string           `json:"email"`
	Livemode    bool              `json:"livemode"`
	Metadata    map[string]string `json:"metadata"`
	Name        *string           `json:"name"`
	Phone       *string           `json:"phone"`
}

func optional(p params, key string) *string {
	if v := p.str(key); v != "" {
		return &v
	}
	return nil
}

func (s *Server) createCustomer(req *apiRequest) response {
	p := req.params
	if e := p.unknown("email", "name", "phone", "description", "metadata", "expand"); e != nil {
		return fail(e)
	}
	c := &customer{ID: newID("cus"), Object: "customer", Created: req.now.Unix(), Metadata: p.strMap("metadata"),
		Description: optional(p, "description"), Email: optional(p, "email"), Name: optional(p, "name"), Phone: optional(p, "phone")}
	s.st.Customers[c.ID] = c
	s.st.CustomerOrder = append(s.st.CustomerOrder, c.ID)
	s.emit(req, "customer.created", c)
	return ok(c)
}

func (s *Server) retrieveCustomer(req *apiRequest) response {
	c, found := s.st.Customers[req.r.PathValue("id")]
	if !found {
		return fail(noSuch("customer", "id", req.r.PathValue("id")))
	}
	return ok(c)
}

func (s *Server) listCustomers(req *apiRequest) response {
	if e := req.params.unknown("limit", "starting_after", "ending_before", "email", "created", "expand"); e != nil {
		return fail(e)
	}
	email := req.params.str("email")
	created, e := parseRange(req.params, "created")
	if e != nil {
		return fail(e)
	}
	return listOf(req, "/v1/customers", s.st.CustomerOrder, func(id string) (any, bool) {
		c := s.st.Customers[id]
		return c, (email == "" || (c.Email != nil && *c.Email == email)) && created.contains(c.Created)
	})
}
