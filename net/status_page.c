/* The broker's HTML status page (see net/status_page.h). */
#include "net/status_page.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DASH "\xe2\x80\x93"   /* "–": a value that is missing */

void status_page_escape(struct buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_appends(out, "&amp;"); break;
		case '<': buf_appends(out, "&lt;"); break;
		case '>': buf_appends(out, "&gt;"); break;
		case '"': buf_appends(out, "&quot;"); break;
		case '\'': buf_appends(out, "&#39;"); break;
		default: buf_append(out, s, 1); break;
		}
	}
}

/* ---- values ------------------------------------------------------------- */

bool status_page_count(const json_t *v, uint64_t *out)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 1.8e19) {
		*out = (uint64_t)json_real_value(v);
		return true;
	}
	return false;
}

const json_t *status_page_field(const json_t *obj, const char *key)
{
	return json_is_object(obj) ? json_object_get(obj, key) : NULL;
}

void status_page_slots(const json_t *workers, uint64_t *used, uint64_t *total)
{
	*used = *total = 0;
	size_t i;
	const json_t *w;
	json_array_foreach(workers, i, w) {
		uint64_t n;
		if (status_page_count(status_page_field(w, "running"), &n))
			*used += n;
		if (status_page_count(status_page_field(w, "slots"), &n))
			*total += n;
	}
}

/* A count as text, or a dash. */
static void append_count(struct buf *out, const json_t *v)
{
	uint64_t n;
	if (status_page_count(v, &n))
		buf_appendf(out, "%" PRIu64, n);
	else
		buf_appends(out, DASH);
}

/* Bytes for humans, in powers of 1000 with at most one decimal, rounded
 * half up: "0 B", "999 B", "1.5 MB", "12 GB". The page's script does the
 * same. */
static void append_bytes(struct buf *out, uint64_t b)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
	uint64_t unit = 1;
	size_t i = 0;
	while (i + 1 < sizeof(units) / sizeof(units[0]) && b / unit >= 1000) {
		unit *= 1000;
		i++;
	}
	uint64_t tenths = b / unit * 10 + ((b % unit) * 10 + unit / 2) / unit;
	if (tenths % 10 == 0 || i == 0)
		buf_appendf(out, "%" PRIu64 " %s", tenths / 10, units[i]);
	else
		buf_appendf(out, "%" PRIu64 ".%" PRIu64 " %s", tenths / 10, tenths % 10, units[i]);
}

/* "used / total" with a bar of used/total. */
static void append_meter(struct buf *out, const char *id, bool have, uint64_t used,
			 uint64_t total, bool bytes)
{
	buf_appendf(out, "<p class=\"big\" id=\"%s\">", id);
	if (!have) {
		buf_appends(out, DASH);
	} else if (bytes) {
		append_bytes(out, used);
		buf_appends(out, " / ");
		append_bytes(out, total);
	} else {
		buf_appendf(out, "%" PRIu64 " / %" PRIu64, used, total);
	}
	unsigned pct = 0;
	if (have && total)
		pct = used >= total ? 100 : (unsigned)(used * 100.0 / (double)total);
	buf_appendf(out, "</p><div class=\"bar\"><div id=\"%s-bar\" style=\"width:%u%%\"></div></div>",
		    id, pct);
}

/* ---- page parts ---------------------------------------------------------- */

static const char style[] =
	"<style>\n"
	"body{font:15px/1.4 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}\n"
	"header{background:#1d2330;color:#fff;padding:12px 24px;display:flex;"
	"align-items:baseline;gap:16px}\n"
	"h1{font-size:20px;margin:0}h2{font-size:14px;margin:0 0 6px;color:#5b6475;"
	"text-transform:uppercase;letter-spacing:.04em}\n"
	"#live{font-size:13px;color:#aab3c5}#live.down{color:#ff9a8a}\n"
	"main{padding:16px 24px;max-width:1100px}\n"
	".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px}\n"
	".card,section.box{background:#fff;border-radius:6px;padding:12px 16px;"
	"box-shadow:0 1px 2px rgba(0,0,0,.08)}\n"
	"section.box{margin-top:12px}\n"
	".big{font-size:26px;margin:0;font-variant-numeric:tabular-nums}\n"
	".bar{height:6px;background:#e3e6ec;border-radius:3px;margin-top:6px;overflow:hidden}\n"
	".bar>div{height:100%;background:#3d7be0}\n"
	"table{border-collapse:collapse;width:100%}\n"
	"th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceef2}\n"
	"td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	"td .bar{margin:0;width:120px}\n"
	".empty{color:#8a93a5}\n"
	"</style>\n";

static void render_cards(struct buf *out, const json_t *status)
{
	const json_t *workers = status_page_field(status, "workers");
	buf_appends(out, "<div class=\"cards\">\n<div class=\"card\"><h2>Workers</h2>"
			 "<p class=\"big\" id=\"workers-count\">");
	if (json_is_array(workers))
		buf_appendf(out, "%zu", json_array_size(workers));
	else
		buf_appends(out, DASH);
	buf_appends(out, "</p></div>\n<div class=\"card\"><h2>Slots in use</h2>");
	uint64_t used, total;
	status_page_slots(workers, &used, &total);
	append_meter(out, "slots", json_is_array(workers), used, total, false);
	buf_appends(out, "</div>\n<div class=\"card\"><h2>Clients</h2><p class=\"big\" "
			 "id=\"clients\">");
	append_count(out, status_page_field(status, "clients"));
	buf_appends(out, "</p></div>\n<div class=\"card\"><h2>Cache</h2>");
	const json_t *cache = status_page_field(status, "cache");
	bool have = status_page_count(status_page_field(cache, "bytes_used"), &used) &&
		    status_page_count(status_page_field(cache, "cache_size"), &total);
	append_meter(out, "cache", have, used, total, true);
	buf_appends(out, "</div>\n</div>\n");
}

static const char *const job_states[][2] = {
	{ "waiting_for_artifacts", "Waiting for artifacts" },
	{ "pending", "Pending" },
	{ "running", "Running" },
	{ "completed", "Completed" },
};

static void render_jobs(struct buf *out, const json_t *status)
{
	const json_t *jobs = status_page_field(status, "jobs");
	buf_appends(out, "<section class=\"box\"><h2>Jobs</h2><table><tr>");
	for (size_t i = 0; i < sizeof(job_states) / sizeof(job_states[0]); i++)
		buf_appendf(out, "<th>%s</th>", job_states[i][1]);
	buf_appends(out, "</tr><tr>");
	for (size_t i = 0; i < sizeof(job_states) / sizeof(job_states[0]); i++) {
		buf_appendf(out, "<td class=\"n\" id=\"jobs-%s\">", job_states[i][0]);
		append_count(out, status_page_field(jobs, job_states[i][0]));
		buf_appends(out, "</td>");
	}
	buf_appends(out, "</tr></table></section>\n");
}

static void append_text(struct buf *out, const json_t *v)
{
	if (json_is_string(v))
		status_page_escape(out, json_string_value(v));
	else
		buf_appends(out, DASH);
}

static void render_workers(struct buf *out, const json_t *status)
{
	const json_t *workers = status_page_field(status, "workers");
	buf_appends(out, "<section class=\"box\"><h2>Workers</h2><table><thead><tr><th>Name</th>"
			 "<th>Address</th><th>Slots</th><th>Running</th><th>Use</th></tr>"
			 "</thead><tbody id=\"workers\">");
	if (json_array_size(workers) == 0)
		buf_appends(out, "<tr><td colspan=\"5\" class=\"empty\">No workers connected"
				 "</td></tr>");
	size_t i;
	const json_t *w;
	json_array_foreach(workers, i, w) {
		buf_appends(out, "<tr><td>");
		append_text(out, status_page_field(w, "name"));
		buf_appends(out, "</td><td>");
		append_text(out, status_page_field(w, "address"));
		buf_appends(out, "</td><td class=\"n\">");
		append_count(out, status_page_field(w, "slots"));
		buf_appends(out, "</td><td class=\"n\">");
		append_count(out, status_page_field(w, "running"));
		uint64_t slots = 0, running = 0;
		unsigned pct = 0;
		if (status_page_count(status_page_field(w, "slots"), &slots) &&
		    status_page_count(status_page_field(w, "running"), &running) && slots)
			pct = running >= slots ? 100 : (unsigned)(running * 100 / slots);
		buf_appendf(out, "</td><td><div class=\"bar\"><div style=\"width:%u%%\"></div></div>"
				 "</td></tr>", pct);
	}
	buf_appends(out, "</tbody></table></section>\n");
}

static void render_stats(struct buf *out, const json_t *status)
{
	const json_t *stats = status_page_field(status, "stats");
	buf_appends(out, "<section class=\"box\"><h2>Statistics</h2><table><tbody id=\"stats\">");
	if (!json_is_object(stats) || json_object_size(stats) == 0)
		buf_appends(out, "<tr><td class=\"empty\">None</td></tr>");
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)stats, key, v) {
		buf_appends(out, "<tr><th>");
		status_page_escape(out, key);
		buf_appends(out, "</th><td>");
		if (json_is_string(v)) {
			status_page_escape(out, json_string_value(v));
		} else {
			char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			status_page_escape(out, text ? text : DASH);
			free(text);
		}
		buf_appends(out, "</td></tr>");
	}
	buf_appends(out, "</tbody></table></section>\n");
}

/* Re-renders the same elements from /api/status every second. Strings
 * reach the page only through textContent. */
static const char script[] =
	"<script>\n"
	"(function(){\n"
	"var D='\\u2013',$=function(i){return document.getElementById(i);};\n"
	"function cnt(v){return typeof v==='number'&&v>=0?Math.floor(v):null;}\n"
	"function num(v){var n=cnt(v);return n===null?D:String(n);}\n"
	"function str(v){return typeof v==='string'?v:D;}\n"
	"function obj(v){return v&&typeof v==='object'&&!Array.isArray(v)?v:{};}\n"
	"function bytes(b){var u=['B','kB','MB','GB','TB','PB','EB'],i=0,k=1;\n"
	" while(i+1<u.length&&Math.floor(b/k)>=1000){k*=1000;i++;}\n"
	" var t=Math.round(b*10/k);return (i&&t%10?(t/10).toFixed(1):Math.floor(t/10))+' '+u[i];}\n"
	"function pct(u,t){return t?Math.min(100,Math.floor(u*100/t)):0;}\n"
	"function meter(id,have,u,t,f){$(id).textContent=have?f(u)+' / '+f(t):D;\n"
	" $(id+'-bar').style.width=(have?pct(u,t):0)+'%';}\n"
	"function el(tag,text,cls){var e=document.createElement(tag);\n"
	" if(text!==undefined)e.textContent=text;if(cls)e.className=cls;return e;}\n"
	"function row(cells){var tr=el('tr');cells.forEach(function(c){tr.appendChild(c);});return tr;}\n"
	"function render(s){s=obj(s);var ws=Array.isArray(s.workers)?s.workers:null,u=0,t=0;\n"
	" $('workers-count').textContent=ws?ws.length:D;\n"
	" var body=$('workers');body.textContent='';\n"
	" (ws||[]).forEach(function(w){w=obj(w);var sl=cnt(w.slots),r=cnt(w.running);\n"
	"  u+=r||0;t+=sl||0;var bar=el('div',undefined,'bar'),f=el('div');\n"
	"  f.style.width=(sl!==null&&r!==null?pct(r,sl):0)+'%';bar.appendChild(f);\n"
	"  var c=el('td');c.appendChild(bar);\n"
	"  body.appendChild(row([el('td',str(w.name)),el('td',str(w.address)),\n"
	"   el('td',num(w.slots),'n'),el('td',num(w.running),'n'),c]));});\n"
	" if(!ws||!ws.length){var e=el('td','No workers connected','empty');e.colSpan=5;\n"
	"  body.appendChild(row([e]));}\n"
	" meter('slots',!!ws,u,t,String);\n"
	" $('clients').textContent=num(s.clients);\n"
	" var c=obj(s.cache),bu=cnt(c.bytes_used),cs=cnt(c.cache_size);\n"
	" meter('cache',bu!==null&&cs!==null,bu,cs,bytes);\n"
	" var j=obj(s.jobs);['waiting_for_artifacts','pending','running','completed']\n"
	"  .forEach(function(k){$('jobs-'+k).textContent=num(j[k]);});\n"
	" var st=obj(s.stats),sb=$('stats'),ks=Object.keys(st);sb.textContent='';\n"
	" ks.forEach(function(k){var v=st[k];\n"
	"  sb.appendChild(row([el('th',k),el('td',typeof v==='string'?v:JSON.stringify(v))]));});\n"
	" if(!ks.length)sb.appendChild(row([el('td','None','empty')]));}\n"
	"function live(ok){var l=$('live');l.className=ok?'':'down';\n"
	" l.textContent=ok?'live, updated '+new Date().toLocaleTimeString():\n"
	"  'broker unreachable, retrying';}\n"
	"function tick(){fetch('/api/status',{cache:'no-store'})\n"
	" .then(function(r){if(!r.ok)throw new Error(r.status);return r.json();})\n"
	" .then(function(s){render(s);live(true);},function(){live(false);})\n"
	" .then(function(){setTimeout(tick,1000);});}\n"
	"tick();\n"
	"})();\n"
	"</script>\n";

void status_page_render(struct buf *out, const json_t *status)
{
	buf_appends(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
			 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
			 "<title>Maelstrom broker</title>\n"
			 "<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>\n");
	buf_appends(out, style);
	buf_appends(out, "</head>\n<body>\n<header><h1>Maelstrom broker</h1><span id=\"live\">");
	buf_appends(out, json_is_object(status) ? "as of page load" : "no status available");
	buf_appends(out, "</span></header>\n<main>\n");
	render_cards(out, status);
	render_jobs(out, status);
	render_workers(out, status);
	render_stats(out, status);
	buf_appends(out, "</main>\n");
	buf_appends(out, script);
	buf_appends(out, "</body>\n</html>\n");
}

void status_page_handle(const struct http_request *req, struct http_response *res,
			const json_t *status)
{
	http_response_header(res, "Cache-Control", "no-store");
	if (strcmp(req->path, "/") == 0 || strcmp(req->path, "/index.html") == 0) {
		res->content_type = "text/html; charset=utf-8";
		status_page_render(&res->body, status);
		return;
	}
	if (strcmp(req->path, "/api/status") == 0) {
		res->content_type = "application/json";
		char *text = status ? json_dumps(status, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		buf_appends(&res->body, text ? text : "null");
		buf_appends(&res->body, "\n");
		free(text);
		return;
	}
	res->status = 404;
	buf_appends(&res->body, "404 Not Found: try / or /api/status\n");
}
