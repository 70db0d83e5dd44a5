-- A small shop with fake PII, for the scopegate demo. All values are invented.
CREATE SCHEMA analytics;

CREATE TABLE public.customers (
  id          integer PRIMARY KEY,
  full_name   text NOT NULL,
  email       text NOT NULL,
  ssn         text NOT NULL,
  card_number text NOT NULL,
  region      text NOT NULL
);

CREATE TABLE public.orders (
  id          serial PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES public.customers(id),
  amount      numeric(10,2) NOT NULL,
  status      text NOT NULL DEFAULT 'paid'
);

CREATE TABLE analytics.daily_revenue (day date PRIMARY KEY, revenue numeric(12,2) NOT NULL);

INSERT INTO public.customers
SELECT g,
       (ARRAY['Ada','Grace','Alan','Edsger','Barbara','Ken'])[1 + g % 6] || ' ' || (ARRAY['Lovelace','Hopper','Turing','Dijkstra','Liskov','Thompson'])[1 + (g * 5) % 6],
       'customer' || g || '@example.com',
       lpad((100 + g)::text, 3, '0') || '-' || lpad((g % 90 + 10)::text, 2, '0') || '-' || lpad((1000 + g * 37)::text, 4, '0'),
       '4000' || lpad((g * 7919)::text, 12, '0'),
       (ARRAY['EU','US','APAC'])[1 + g % 3]
FROM generate_series(1, 50) g;

INSERT INTO public.orders (customer_id, amount, status)
SELECT 1 + g % 50, round((g * 13.37) % 500, 2), (ARRAY['paid','shipped','cancelled'])[1 + g % 3]
FROM generate_series(1, 200) g;

INSERT INTO analytics.daily_revenue
SELECT DATE '2026-11-01' + g, round((g * 997.5) % 20000, 2) FROM generate_series(0, 22) g;
