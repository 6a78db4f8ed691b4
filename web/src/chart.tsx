/** A stacked bar chart of requests per minute by mTLS result: plain SVG, with a table for screen readers. */
import type { MinuteCounts } from "./types.ts";

export const SERIES = [
  { key: "verified", label: "Verified", color: "var(--ok)" },
  { key: "missing", label: "Missing", color: "var(--warn)" },
  { key: "invalid", label: "Invalid", color: "var(--bad)" },
  { key: "revoked", label: "Revoked", color: "var(--revoked)" },
  { key: "public", label: "No mTLS asked", color: "var(--muted-bar)" },
] as const;

export function MtlsChart({ buckets }: { buckets: MinuteCounts[] }) {
  const width = 720;
  const height = 200;
  const pad = { left: 36, right: 8, top: 8, bottom: 22 };
  const max = Math.max(1, ...buckets.map((b) => SERIES.reduce((sum, s) => sum + b[s.key], 0)));
  const innerWidth = width - pad.left - pad.right;
  const innerHeight = height - pad.top - pad.bottom;
  const step = innerWidth / Math.max(1, buckets.length);
  const barWidth = Math.max(1, step - 1);
  const y = (value: number) => (value / max) * innerHeight;
  const ticks = [0, Math.round(max / 2), max];
  const label = (iso: string) => iso.slice(11, 16);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label="Requests per minute by mTLS result">
        {ticks.map((tick) => (
          <g key={tick}>
            <line
              x1={pad.left}
              x2={width - pad.right}
              y1={pad.top + innerHeight - y(tick)}
              y2={pad.top + innerHeight - y(tick)}
              className="grid-line"
            />
            <text x={pad.left - 4} y={pad.top + innerHeight - y(tick) + 4} textAnchor="end" className="axis">
              {tick}
            </text>
          </g>
        ))}
        {buckets.map((bucket, index) => {
          let base = pad.top + innerHeight;
          return (
            <g key={bucket.time}>
              <title>
                {label(bucket.time)}:{" "}
                {SERIES.map((s) => `${bucket[s.key]} ${s.label.toLowerCase()}`).join(", ")}
              </title>
              {SERIES.map((series) => {
                const h = y(bucket[series.key]);
                base -= h;
                return h > 0 ? (
                  <rect
                    key={series.key}
                    x={pad.left + index * step}
                    y={base}
                    width={barWidth}
                    height={h}
                    fill={series.color}
                  />
                ) : null;
              })}
            </g>
          );
        })}
        {buckets.length > 0
          ? [0, Math.floor(buckets.length / 2), buckets.length - 1].map((index) => {
              const bucket = buckets[index];
              return bucket ? (
                <text
                  key={index}
                  x={pad.left + index * step + barWidth / 2}
                  y={height - 6}
                  textAnchor="middle"
                  className="axis"
                >
                  {label(bucket.time)}
                </text>
              ) : null;
            })
          : null}
      </svg>
      <figcaption className="legend">
        {SERIES.map((series) => (
          <span key={series.key}>
            <span className="swatch" style={{ background: series.color }} aria-hidden="true" /> {series.label}
          </span>
        ))}
        <span className="muted"> (UTC)</span>
      </figcaption>
    </figure>
  );
}
