-- Workflows and webhook deliveries (issue #21 item 4).
--
-- workflows: a user's automation, Immich 3.1's WorkflowResponseDto: a trigger (AssetCreate,
-- AssetMetadataExtraction) and ordered steps {method, config, enabled} (filters then actions of
-- the built-in "darkroom-core" plugin, darkroom_db.workflows). Run by the webhook service's
-- "workflow" consumer for the owner's own assets only.
--
-- workflow_runs: one row per (workflow, asset) it ran for, written in the same transaction as
-- the actions' changes, so a redelivered event never runs a workflow twice for one asset.
--
-- webhook_deliveries: the queue's durable record of each webhook call a workflow asked for (the
-- "webhook" consumer takes darkroom.webhook.requested and works on this row): attempts, the last
-- response (status, a body excerpt, the error) and the end state: delivered, or dead after the
-- allowed attempts (GET /api/workflows/deliveries shows them). The signing secret stays in the
-- workflow's step config; it is never copied here nor into an event.

CREATE TABLE workflows (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text,
    description text,
    trigger text NOT NULL CHECK (trigger IN ('AssetCreate', 'AssetMetadataExtraction')),
    enabled boolean NOT NULL DEFAULT true,
    steps jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflows_owner_idx ON workflows (owner_id, created_at);

CREATE TABLE workflow_runs (
    workflow_id uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    asset_id uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    ran_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, asset_id)
);

CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY,
    workflow_id uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    step integer NOT NULL,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    asset_id uuid,
    url text NOT NULL,
    payload bytea NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    last_status integer,
    last_response text,
    last_error text,
    last_attempt_at timestamptz,
    delivered_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_owner_idx ON webhook_deliveries (owner_id, created_at DESC);
CREATE INDEX webhook_deliveries_dead_idx ON webhook_deliveries (created_at DESC)
    WHERE status = 'dead';
