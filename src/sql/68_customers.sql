-- Customer records beside loyalty.member (I1-I4, I6): company data and
-- attributes, contact persons, important dates, staff tasks, and searches.

CREATE TABLE @extschema@.customer_profile (
    member_id       bigint NOT NULL PRIMARY KEY,
    company_name    text,
    address         text,
    attributes      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_profile_attributes_idx ON @extschema@.customer_profile USING gin (attributes jsonb_path_ops);
COMMENT ON TABLE @extschema@.customer_profile IS
'Extra customer data: company name, address and attributes such as {"industry": "retail", "annual_revenue": 5000000000, "staff": 40}';

CREATE TABLE @extschema@.contact_person (
    member_id       bigint NOT NULL,
    contact_id      bigint NOT NULL DEFAULT @extschema@.generate_id(),
    name            text NOT NULL,
    role            text,
    phone           text,
    email           text,
    birthday        date,
    PRIMARY KEY (member_id, contact_id)
);
COMMENT ON TABLE @extschema@.contact_person IS 'Contact persons of a customer (organisations): name, role, phone, email';

CREATE TABLE @extschema@.important_date (
    member_id       bigint NOT NULL,
    date_id         bigint NOT NULL DEFAULT @extschema@.generate_id(),
    kind            text NOT NULL CHECK (kind IN ('birthday', 'wedding', 'founding')),
    date            date NOT NULL,
    note            text,
    PRIMARY KEY (member_id, date_id),
    UNIQUE (member_id, kind, date)
);
COMMENT ON TABLE @extschema@.important_date IS
'Dates to remember for a customer: birthdays (besides loyalty.member.birthday), wedding days, company founding days';

CREATE TABLE @extschema@.customer_task (
    member_id       bigint NOT NULL,
    task_id         bigint NOT NULL DEFAULT @extschema@.generate_id(),
    assignee        text NOT NULL,
    due_at          timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    title           text NOT NULL,
    note            text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, task_id)
);
CREATE INDEX customer_task_due_idx ON @extschema@.customer_task (due_at) WHERE status = 'open';
COMMENT ON TABLE @extschema@.customer_task IS 'Reminders of planned events with a customer and tasks for staff';

CREATE FUNCTION @extschema@.top_customers(program text, since timestamptz DEFAULT NULL,
                                          until timestamptz DEFAULT NULL, max_rows integer DEFAULT 10)
RETURNS TABLE (customer_key text, name text, company_name text, revenue numeric, orders bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.customer_key, m.name, cp.company_name, r.revenue, r.orders
      FROM (SELECT o.member_id, sum(o.amount - o.returned_amount) AS revenue, count(*) AS orders
              FROM @extschema@.member_order o
              JOIN @extschema@.program p ON p.program_id = o.program_id
             WHERE p.code = $1 AND o.status <> 'cancelled'
               AND ($2 IS NULL OR o.ordered_at >= $2) AND ($3 IS NULL OR o.ordered_at < $3)
             GROUP BY o.member_id) r
      JOIN @extschema@.member m ON m.member_id = r.member_id
      LEFT JOIN @extschema@.customer_profile cp ON cp.member_id = m.member_id
     ORDER BY r.revenue DESC, m.customer_key
     LIMIT $4
$$;
COMMENT ON FUNCTION @extschema@.top_customers(text, timestamptz, timestamptz, integer) IS
'Customers with the highest revenue (order amounts less returns) in a period (I3, K5)';

CREATE FUNCTION @extschema@.important_dates_in_month(program text, month date DEFAULT current_date)
RETURNS TABLE (customer_key text, name text, kind text, date date, anniversary date)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.customer_key, m.name, d.kind, d.date,
           @extschema@.next_birthday(d.date, date_trunc('month', $2)::date)
      FROM (SELECT x.member_id, x.kind, x.date FROM @extschema@.important_date x
            UNION
            SELECT y.member_id, 'birthday', y.birthday FROM @extschema@.member y WHERE y.birthday IS NOT NULL) d
      JOIN @extschema@.member m ON m.member_id = d.member_id
      JOIN @extschema@.program p ON p.program_id = m.program_id
     WHERE p.code = $1 AND extract(month FROM d.date) = extract(month FROM $2)
     ORDER BY 5, m.customer_key, d.kind
$$;
COMMENT ON FUNCTION @extschema@.important_dates_in_month(text, date) IS
'Birthdays, wedding days and company founding days falling in a month (I3), with the day they are celebrated that year';

CREATE FUNCTION @extschema@.customer_branches(program text, customer_key text)
RETURNS TABLE (branch text, orders bigint, revenue numeric, first_at timestamptz, last_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT o.branch, count(*), sum(o.amount - o.returned_amount), min(o.ordered_at), max(o.ordered_at)
      FROM @extschema@.member_order o
     WHERE o.member_id = @extschema@.member_id($1, $2)
     GROUP BY o.branch
     ORDER BY max(o.ordered_at) DESC, o.branch
$$;
COMMENT ON FUNCTION @extschema@.customer_branches(text, text) IS
'Which branches served a customer, how often and when first and last (I6)';

CREATE FUNCTION @extschema@.customers_with(program text, attributes jsonb)
RETURNS TABLE (customer_key text, name text, company_name text, attributes jsonb)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.customer_key, m.name, cp.company_name, cp.attributes
      FROM @extschema@.customer_profile cp
      JOIN @extschema@.member m ON m.member_id = cp.member_id
      JOIN @extschema@.program p ON p.program_id = m.program_id
     WHERE p.code = $1 AND cp.attributes @> $2
     ORDER BY m.customer_key
$$;
COMMENT ON FUNCTION @extschema@.customers_with(text, jsonb) IS
'Customers whose attributes contain the given ones, e.g. {"industry": "retail"} (uses the GIN index)';

CREATE FUNCTION @extschema@.tasks_due(until timestamptz DEFAULT now() + interval '1 day',
                                      assignee text DEFAULT NULL)
RETURNS TABLE (assignee text, due_at timestamptz, title text, customer_key text, name text, overdue boolean)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.assignee, t.due_at, t.title, m.customer_key, m.name, t.due_at < now()
      FROM @extschema@.customer_task t
      JOIN @extschema@.member m ON m.member_id = t.member_id
     WHERE t.status = 'open' AND t.due_at <= $1 AND ($2 IS NULL OR t.assignee = $2)
     ORDER BY t.due_at, t.assignee, t.title
$$;
COMMENT ON FUNCTION @extschema@.tasks_due(timestamptz, text) IS 'Open tasks and reminders due by a moment, for everyone or one assignee (I4)';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.customer_profile', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.contact_person', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.important_date', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.customer_task', '');
