/* `isola compare`: the reports of a finished comparison — JSON, a text table, an SVG chart.
 * Pure functions of struct compare; see compare.h for what each number means. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/compare.h"

static const char *status_name(enum compare_status s) {
  return s == COMPARE_OK ? "ok" : s == COMPARE_SKIPPED ? "skipped" : "failed";
}

/* A number rounded to 3 decimals, or null when not measured. */
static json_t *num(double v) {
  return v < 0 ? json_null() : json_real(round(v * 1000) / 1000);
}

static json_t *sample_json(const struct compare_sample *s) {
  return json_pack("{s:o, s:o, s:o, s:o, s:i, s:s, s:I}", "start_ms", num(s->start_ms), "wall_ms",
                   num(s->wall_ms), "cpu_ms", num(s->cpu_ms), "peak_mib", num(s->peak_mib),
                   "exit", s->exit, "sha256", s->sha256, "stdout_bytes",
                   (json_int_t)s->out_bytes);
}

json_t *compare_json(const struct compare *c) {
  json_t *engines = json_array();
  for (size_t i = 0; i < c->nengines; i++) {
    const struct compare_engine *e = &c->engines[i];
    json_t *j = json_pack("{s:s, s:s}", "engine", e->name, "status", status_name(e->status));
    if (e->entrypoint[0]) json_object_set_new(j, "entrypoint", json_string(e->entrypoint));
    if (e->status != COMPARE_OK) {
      json_object_set_new(j, "reason", json_string(e->reason));
      if (e->stderr_tail[0]) json_object_set_new(j, "stderr", json_string(e->stderr_tail));
    } else if (e->reason[0]) {
      json_object_set_new(j, "detail", json_string(e->reason));
    }
    if (e->status == COMPARE_OK) {
      json_t *ratio = json_object();
      for (int m = 0; m < CM_COUNT; m++) {
        json_object_set_new(j, compare_metric_names[m], num(e->median[m]));
        json_object_set_new(ratio, compare_metric_names[m],
                            e->ratio[m] > 0 ? num(e->ratio[m]) : json_null());
      }
      json_object_set_new(j, "exit", json_integer(e->exit));
      json_object_set_new(j, "sha256", json_string(e->sha256));
      json_object_set_new(j, "consistent", json_boolean(e->consistent));
      json_object_set_new(j, "ratio", ratio);
      json_object_set_new(j, "cpu_source", json_string(e->cpu_source));
      json_object_set_new(j, "memory_source", json_string(e->mem_source));
    }
    if (e->nsamples) {
      json_t *runs = json_array();
      for (int k = 0; k < e->nsamples; k++) json_array_append_new(runs, sample_json(&e->samples[k]));
      json_object_set_new(j, "runs", runs);
    }
    json_array_append_new(engines, j);
  }
  return json_pack("{s:s, s:s, s:s, s:i, s:s, s:o}", "bundle", c->bundle, "native", c->native,
                   "wasm", c->wasm, "runs", c->runs, "start_marker",
                   "first byte of the workload's stdout", "engines", engines);
}

/* "  12.3 (1.0x)" in a column of `w`. */
static void cell(FILE *f, double v, double ratio, int w) {
  char buf[64];
  if (v < 0) snprintf(buf, sizeof buf, "n/a");
  else if (ratio > 0) snprintf(buf, sizeof buf, "%.1f (%.1fx)", v, ratio);
  else snprintf(buf, sizeof buf, "%.1f", v);
  fprintf(f, "%*s", w, buf);
}

void compare_table(const struct compare *c, FILE *f) {
  fprintf(f, "%-10s %16s %16s %16s %16s %5s  %s\n", "engine", compare_metric_titles[CM_START],
          compare_metric_titles[CM_WALL], compare_metric_titles[CM_CPU],
          compare_metric_titles[CM_PEAK], "exit", "stdout sha256");
  bool inconsistent = false, differ = false;
  const char *first = NULL;
  const struct compare_engine *ok = NULL;
  for (size_t i = 0; i < c->nengines; i++) {
    const struct compare_engine *e = &c->engines[i];
    fprintf(f, "%-10s", e->name);
    if (e->status != COMPARE_OK) {
      fprintf(f, " %s: %s\n", status_name(e->status), e->reason);
      continue;
    }
    ok = e;
    for (int m = 0; m < CM_COUNT; m++) {
      fputc(' ', f);
      cell(f, e->median[m], e->ratio[m], 16);
    }
    fprintf(f, " %4d%s  %.12s%s\n", e->exit, e->consistent ? " " : "*", e->sha256,
            e->consistent ? "" : "*");
    inconsistent |= !e->consistent;
    if (!first) first = e->sha256;
    else differ |= strcmp(first, e->sha256) != 0;
  }
  fprintf(f, "\nmedians of %d run%s; in brackets: ratio to the smallest; start: until the "
             "workload's first byte on stdout\n",
          c->runs, c->runs == 1 ? "" : "s");
  if (ok)
    fprintf(f, "cpu: %s; memory: %s\n", ok->cpu_source, ok->mem_source);
  for (size_t i = 0; i < c->nengines; i++)
    if (c->engines[i].status == COMPARE_OK && c->engines[i].reason[0])
      fprintf(f, "%s: %s\n", c->engines[i].name, c->engines[i].reason);
  if (inconsistent) fprintf(f, "*: the runs of this engine differed (exit status or output)\n");
  if (differ) fprintf(f, "note: the engines' outputs differ (checksums)\n");
}

/* ---- SVG ---------------------------------------------------------------------------------- */

static void xml_text(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    default:
      if ((unsigned char)*s >= 0x20 || *s == '\t') fputc(*s, f);
    }
  }
}

static const char *engine_color(const char *name) {
  if (!strcmp(name, "container")) return "#4e79a7";
  if (!strcmp(name, "vm")) return "#e15759";
  if (!strcmp(name, "wasm")) return "#59a14f";
  return "#9c755f";
}

static void fmt_value(char *buf, size_t len, double v) {
  if (v >= 100) snprintf(buf, len, "%.0f", v);
  else if (v >= 10) snprintf(buf, len, "%.1f", v);
  else snprintf(buf, len, "%.2f", v);
}

/* Layout: a title, a legend, then one panel per metric, side by side; in each panel one bar
 * per engine that ran, scaled to the panel's largest value, labelled with its value and its
 * ratio to the smallest. Skipped and failed engines are listed under the chart. */
void compare_svg(const struct compare *c, FILE *f) {
  enum { W = 880, PANEL_W = 200, PANEL_GAP = 16, LEFT = 32, TOP = 96, PLOT_H = 240 };
  const struct compare_engine *ok[COMPARE_MAX_ENGINES];
  size_t nok = 0, nother = 0;
  for (size_t i = 0; i < c->nengines; i++) {
    if (c->engines[i].status == COMPARE_OK) ok[nok++] = &c->engines[i];
    else nother++;
  }
  int h = TOP + PLOT_H + 36 + (int)nother * 18;
  fprintf(f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
          "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
          "<title>isola compare</title>\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
          W, h, W, h);
  const char *base = strrchr(c->bundle, '/') ? strrchr(c->bundle, '/') + 1 : c->bundle;
  fprintf(f, "<text x=\"%d\" y=\"30\" font-size=\"18\" font-weight=\"bold\">isola compare: ",
          LEFT);
  xml_text(f, base);
  fprintf(f, "</text>\n<text x=\"%d\" y=\"50\" font-size=\"12\" fill=\"#555555\">medians of %d "
             "run%s per engine; lower is better; labels: value and ratio to the smallest</text>\n",
          LEFT, c->runs, c->runs == 1 ? "" : "s");
  /* Legend. */
  for (size_t i = 0; i < nok; i++) {
    int x = LEFT + (int)i * 150;
    fprintf(f, "<rect class=\"legend\" x=\"%d\" y=\"62\" width=\"14\" height=\"14\" fill=\"%s\"/>"
               "<text x=\"%d\" y=\"74\" font-size=\"13\">",
            x, engine_color(ok[i]->name), x + 20);
    xml_text(f, ok[i]->name);
    if (ok[i]->reason[0]) {
      fputs(" (", f);
      xml_text(f, !strncmp(ok[i]->reason, "TCG", 3) ? "TCG" : ok[i]->reason);
      fputc(')', f);
    }
    fputs("</text>\n", f);
  }
  for (int m = 0; m < CM_COUNT; m++) {
    int px = LEFT + m * (PANEL_W + PANEL_GAP);
    double max = 0, min = 0;
    for (size_t i = 0; i < nok; i++) {
      double v = ok[i]->median[m];
      if (v > max) max = v;
      if (v > 0 && (min == 0 || v < min)) min = v;
    }
    /* When the values span more than 20x (a VM next to a wasm module), a linear scale leaves
     * the small bars invisible: the panel uses a log scale from a third of the smallest. */
    bool logscale = min > 0 && max / min > 20;
    double lo = min / 3;
    fprintf(f, "<g class=\"metric\" id=\"%s\">\n", compare_metric_names[m]);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"14\" font-weight=\"bold\" "
               "text-anchor=\"middle\">%s</text>\n",
            px + PANEL_W / 2, TOP, compare_metric_titles[m]);
    if (logscale)
      fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#777777\" "
                 "text-anchor=\"middle\">log scale</text>\n",
              px + PANEL_W / 2, TOP + 15);
    int base_y = TOP + 24 + PLOT_H - 40;
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333333\"/>\n", px, base_y,
            px + PANEL_W, base_y);
    int slot = nok ? PANEL_W / (int)nok : PANEL_W, bw = slot * 2 / 3;
    for (size_t i = 0; i < nok; i++) {
      double v = ok[i]->median[m];
      int x = px + (int)i * slot + (slot - bw) / 2;
      double frac = v <= 0 || max <= 0 ? 0
                    : logscale     ? log(v / lo) / log(max / lo)
                                   : v / max;
      int bh = (int)lround((PLOT_H - 80) * frac);
      if (v > 0 && bh < 1) bh = 1;
      char val[32];
      if (v < 0) snprintf(val, sizeof val, "n/a");
      else fmt_value(val, sizeof val, v);
      fprintf(f, "<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\">"
                 "<title>%s %s: %s</title></rect>\n",
              x, base_y - bh, bw, bh, engine_color(ok[i]->name), ok[i]->name,
              compare_metric_titles[m], val);
      fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">%s</text>\n",
              x + bw / 2, base_y - bh - 18, val);
      if (ok[i]->ratio[m] > 0)
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#555555\" "
                   "text-anchor=\"middle\">%.1fx</text>\n",
                x + bw / 2, base_y - bh - 5, ok[i]->ratio[m]);
      fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">",
              x + bw / 2, base_y + 16);
      xml_text(f, ok[i]->name);
      fputs("</text>\n", f);
    }
    fputs("</g>\n", f);
  }
  int y = TOP + PLOT_H + 12;
  for (size_t i = 0; i < c->nengines; i++) {
    const struct compare_engine *e = &c->engines[i];
    if (e->status == COMPARE_OK) continue;
    fprintf(f, "<text class=\"skipped\" x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#555555\">",
            LEFT, y);
    xml_text(f, e->name);
    fprintf(f, " %s: ", status_name(e->status));
    char reason[160];
    snprintf(reason, sizeof reason, "%s%s", e->reason, strlen(e->reason) >= 150 ? "..." : "");
    xml_text(f, reason);
    fputs("</text>\n", f);
    y += 18;
  }
  fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#777777\">start: until the "
             "workload's first byte on stdout; cpu: user+sys of every process of the run; "
             "peak: the run's cgroup memory high-water mark</text>\n",
          LEFT, y + 6);
  fputs("</svg>\n", f);
}
