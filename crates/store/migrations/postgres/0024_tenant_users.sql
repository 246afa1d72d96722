-- Tenant users: a user with the role `tenant` is bound to exactly one customer (the metered
-- `customer` value) and sees only that customer's portal; admins and viewers are bound to none.
-- The CHECK keeps the two columns in step whatever writes them.
ALTER TABLE users ADD COLUMN customer TEXT;
ALTER TABLE users ADD CONSTRAINT users_tenant_customer CHECK ((role = 'tenant') = (customer IS NOT NULL));
