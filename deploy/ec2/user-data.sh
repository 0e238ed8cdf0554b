#!/bin/bash
# EC2 user data: installs Node 20 and the worker, and starts it as a systemd service that
# joins the run in the PostgreSQL ledger. Launch as many instances as `npm run sim -- --sweep`
# says; each one claims jobs until the run is done, then stops.
set -euo pipefail
dnf install -y nodejs20 git
ln -sf /usr/bin/node-20 /usr/bin/node || true
useradd --system cc-worker || true
git clone --depth 1 https://example.invalid/cc-chunks-worker.git /opt/cc-chunks-worker   # your mirror of this repository
cd /opt/cc-chunks-worker && npm ci --omit=dev --no-audit --no-fund
cat > /etc/cc-chunks-worker.env <<'SETTINGS'
INPUT=cc:CC-MAIN-2024-22
CC_BASE=s3://commoncrawl/
OUTPUT=s3://my-bucket/cc-index
RUN_ID=cc-main-2024-22
LEDGER_URL=postgres://worker@ledger.internal:5432/cc
METRICS=cloudwatch
AWS_REGION=us-east-1
SETTINGS
cp deploy/ec2/cc-chunks-worker.service /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now cc-chunks-worker
