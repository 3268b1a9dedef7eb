// What `ota push` shows while it sends: on a TTY one line per board, redrawn in
// place (percent, KB/s, ETA, then what the board is doing); anything else (a
// pipe, a CI log) gets a line each time a board passes another 10 %, and a line
// per phase. Verdicts are printed by the caller through line().

export interface Output {
  write(text: string): void;
  isTTY?: boolean;
}

interface Row {
  label: string;
  text: string;
  started: number;
  lastTenth: number;
}

const BAR = 20;

export function kbps(bytes: number, ms: number): number {
  return ms <= 0 ? 0 : bytes / 1024 / (ms / 1000);
}

function eta(remaining: number, rate: number): string {
  if (rate <= 0) return "--";
  const s = Math.ceil(remaining / 1024 / rate);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

export class ProgressView {
  private readonly rows: Row[] = [];
  private drawn = 0;
  private lastDraw = 0;

  constructor(
    private readonly out: Output,
    private readonly now: () => number = Date.now,
  ) {}

  get tty(): boolean {
    return this.out.isTTY === true;
  }

  /** A board's row; its index is what the other calls take. */
  add(label: string): number {
    this.rows.push({ label, text: "waiting", started: this.now(), lastTenth: -1 });
    return this.rows.length - 1;
  }

  /** The upload starts now (the rate counts from here). */
  begin(row: number): void {
    this.rows[row].started = this.now();
  }

  /** Bytes sent so far of total. */
  sent(row: number, sent: number, total: number): void {
    const r = this.rows[row];
    const rate = kbps(sent, this.now() - r.started);
    const pct = total > 0 ? Math.floor((sent * 100) / total) : 100;
    if (this.tty) {
      const fill = Math.round((pct / 100) * BAR);
      r.text = `[${"#".repeat(fill)}${".".repeat(BAR - fill)}] ${String(pct).padStart(3)} %  ${rate.toFixed(0)} KB/s  ETA ${eta(total - sent, rate)}`;
      if (r.lastTenth < 0) r.lastTenth = 0;
      this.redraw(sent >= total);
      return;
    }
    const tenth = Math.floor(pct / 10);
    // A piece can pass more than one 10 % mark (a small file): a line for each.
    for (let t = Math.max(0, r.lastTenth) + 1; t <= tenth; t++) this.out.write(`${r.label}  ${t * 10} %  ${rate.toFixed(0)} KB/s\n`);
    r.lastTenth = Math.max(r.lastTenth, tenth);
  }

  /** What the board is doing now ("verifying", "restarting", "checking the new firmware: 12 s left"). */
  phase(row: number, text: string): void {
    const r = this.rows[row];
    if (r.text === text) return;
    r.text = text;
    if (this.tty) this.redraw(true);
    else this.out.write(`${r.label}  ${text}\n`);
  }

  /** A line that stays (a verdict); on a TTY printed above the live rows. */
  line(text: string): void {
    if (!this.tty) {
      this.out.write(`${text}\n`);
      return;
    }
    this.clear();
    this.out.write(`${text}\n`);
    this.redraw(true);
  }

  /** Removes a board's live row (once its verdict is printed). */
  finish(row: number): void {
    this.rows[row].text = "";
    if (this.tty) this.redraw(true);
  }

  private live(): Row[] {
    return this.rows.filter((r) => r.text !== "");
  }

  private clear(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  private redraw(force: boolean): void {
    const t = this.now();
    if (!force && t - this.lastDraw < 100) return;
    this.lastDraw = t;
    this.clear();
    const rows = this.live();
    const width = Math.max(0, ...rows.map((r) => r.label.length));
    for (const r of rows) this.out.write(`${r.label.padEnd(width)}  ${r.text}\n`);
    this.drawn = rows.length;
  }
}
