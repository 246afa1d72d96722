-- Budget-check denials (issue 10, and the compliance report's policy-enforcement summary of
-- issue 11): per organization, binding cap and UTC day, how many checks the cap denied, how
-- many of them had no price (an unpriced model under a fail-closed cap), the estimated cost of
-- the priced ones, and the first and last denial. Kept when the cap is deleted (the cap's name
-- is copied), so the record of what was enforced outlives the cap. Servers add their tallies
-- about once a second (`ON CONFLICT … DO UPDATE` adds, so several servers share a row).
CREATE TABLE budget_denials (
    org_id          BIGINT  NOT NULL,
    cap_id          BIGINT  NOT NULL,
    day             BIGINT  NOT NULL,
    cap_name        TEXT    NOT NULL,
    denials         BIGINT  NOT NULL,
    unpriced        BIGINT  NOT NULL,
    estimate_nanos  BIGINT  NOT NULL,
    first_at        BIGINT  NOT NULL,
    last_at         BIGINT  NOT NULL,
    PRIMARY KEY (org_id, cap_id, day)
);
CREATE INDEX budget_denials_org_day ON budget_denials (org_id, day);
