// gorender renders a Go text/template the way Warewulf renders an overlay template: option
// missingkey=default, and Warewulf's template functions (Include, IncludeFrom, IncludeBlock, file,
// softlink, ImportLink, readlink, abort, nobackup, UniqueField, SystemdEscape, basename, inc, dec)
// plus the Sprig helpers wulf's converter maps, written here from their documented behaviour with
// the standard library only. It is the reference side of the converter's equality tests.
//
// usage: gorender -template FILE -data JSON_FILE [-sysconf DIR] [-images DIR]
// prints JSON: {"writeFile":bool,"backupFile":bool,"files":[{"name":"","data":"","symlink":bool,"target":""}]}
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"text/template"
)

type renderedFile struct {
	Name    string `json:"name"`
	Data    string `json:"data"`
	Symlink bool   `json:"symlink"`
	Target  string `json:"target"`
	buf     bytes.Buffer
}

type result struct {
	WriteFile  bool            `json:"writeFile"`
	BackupFile bool            `json:"backupFile"`
	Files      []*renderedFile `json:"files"`
}

type writer struct{ cur *bytes.Buffer }

func (w *writer) Write(p []byte) (int, error) { return w.cur.Write(p) }

var errAbort = errors.New("abort")

var sysconf, images string

func hostPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return path.Join(sysconf, p)
	}
	return p
}

// empty is Sprig's notion of an empty value.
func empty(v interface{}) bool {
	r := reflect.ValueOf(v)
	if !r.IsValid() {
		return true
	}
	switch r.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return r.Len() == 0
	case reflect.Bool:
		return !r.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return r.Int() == 0
	case reflect.Float32, reflect.Float64:
		return r.Float() == 0
	case reflect.Ptr, reflect.Interface:
		return r.IsNil()
	}
	return false
}

func toInt(v interface{}) int64 {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int64:
		return x
	case float64:
		return int64(x)
	case string:
		var n int64
		fmt.Sscan(x, &n)
		return n
	}
	return 0
}

func strList(v interface{}) []string {
	r := reflect.ValueOf(v)
	if !r.IsValid() {
		return nil
	}
	if r.Kind() == reflect.Slice || r.Kind() == reflect.Array {
		out := []string{}
		for i := 0; i < r.Len(); i++ {
			e := r.Index(i).Interface()
			if e == nil {
				continue
			}
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return []string{fmt.Sprint(v)}
}

func systemdEscape(s string, isPath bool) string {
	const allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_."
	out := []byte{}
	inSlashes, start := false, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isPath {
			if c == '/' {
				inSlashes = true
				continue
			} else if inSlashes {
				if !start {
					out = append(out, '-')
				}
				inSlashes = false
			}
		}
		switch {
		case c == '/':
			out = append(out, '-')
		case (start && c == '.') || strings.IndexByte(allowed, c) < 0:
			out = append(out, []byte(fmt.Sprintf(`\x%02x`, c))...)
		default:
			out = append(out, c)
		}
		start = false
	}
	if isPath && len(out) == 0 {
		out = append(out, '-')
	}
	return string(out)
}

func ints(v interface{}) interface{} {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case map[string]interface{}:
		for k, e := range x {
			x[k] = ints(e)
		}
	case []interface{}:
		for i, e := range x {
			x[i] = ints(e)
		}
	}
	return v
}

func main() {
	tplPath := flag.String("template", "", "template file")
	dataPath := flag.String("data", "", "JSON data file")
	flag.StringVar(&sysconf, "sysconf", "/etc/warewulf", "directory relative Include paths resolve in")
	flag.StringVar(&images, "images", "", "directory holding IMAGE/rootfs trees for IncludeFrom")
	flag.Parse()

	raw, err := os.ReadFile(*dataPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// numbers decode as int when whole (YAML integers in resources reach Warewulf's templates as int)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var data interface{}
	if err := dec.Decode(&data); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	data = ints(data)

	res := &result{WriteFile: true, BackupFile: true, Files: []*renderedFile{{}}}
	w := &writer{cur: &res.Files[0].buf}
	softlink := func(target string) string {
		last := res.Files[len(res.Files)-1]
		last.Symlink, last.Target = true, target
		return ""
	}
	funcs := template.FuncMap{
		"Include": func(p string) string {
			b, _ := os.ReadFile(hostPath(p))
			return strings.TrimSuffix(string(b), "\n")
		},
		"IncludeFrom": func(image, p string) string {
			if image == "" {
				return ""
			}
			b, _ := os.ReadFile(filepath.Join(images, image, "rootfs", p))
			return strings.TrimSuffix(string(b), "\n")
		},
		"IncludeBlock": func(p, mark string) (string, error) {
			f, err := os.Open(hostPath(p))
			if err != nil {
				return mark, nil
			}
			defer f.Close()
			out := ""
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if strings.Contains(sc.Text(), mark) {
					break
				}
				out += sc.Text() + "\n"
			}
			return out + mark, nil
		},
		"ImportLink": func(l string) (string, error) {
			t, err := filepath.EvalSymlinks(l)
			if err != nil {
				return "", err
			}
			return softlink(t), nil
		},
		"readlink": filepath.EvalSymlinks,
		"basename": path.Base,
		"inc":      func(i int) int { return i + 1 },
		"dec":      func(i int) int { return i - 1 },
		"file": func(name string) string {
			f := &renderedFile{Name: name}
			res.Files = append(res.Files, f)
			w.cur = &f.buf
			return ""
		},
		"softlink": softlink,
		"abort":    func() (string, error) { return "", errAbort },
		"nobackup": func() string { res.BackupFile = false; return "" },
		"UniqueField": func(sep string, index int, input string) string {
			seen := map[string]bool{}
			out := []string{}
			for _, line := range strings.Split(input, "\n") {
				f := strings.Split(line, sep)
				if len(f) > index && f[index] != "" {
					if seen[f[index]] {
						continue
					}
					seen[f[index]] = true
				}
				out = append(out, line)
			}
			return strings.Join(out, "\n")
		},
		"SystemdEscape": func(s string) string { return systemdEscape(s, false) },
		"SystemdEscapePath": func(s string) string {
			if s == "/" {
				return "-"
			}
			return systemdEscape(s, true)
		},
		// Sprig helpers (their documented behaviour)
		"default": func(d interface{}, given ...interface{}) interface{} {
			if len(given) == 0 || empty(given[0]) {
				return d
			}
			return given[0]
		},
		"empty": empty,
		"coalesce": func(v ...interface{}) interface{} {
			for _, x := range v {
				if !empty(x) {
					return x
				}
			}
			return nil
		},
		"join":       func(sep string, v interface{}) string { return strings.Join(strList(v), sep) },
		"replace":    func(old, new, src string) string { return strings.Replace(src, old, new, -1) },
		"lower":      strings.ToLower,
		"upper":      strings.ToUpper,
		"trim":       strings.TrimSpace,
		"trimPrefix": func(p, s string) string { return strings.TrimPrefix(s, p) },
		"trimSuffix": func(p, s string) string { return strings.TrimSuffix(s, p) },
		"hasPrefix":  func(p, s string) bool { return strings.HasPrefix(s, p) },
		"hasSuffix":  func(p, s string) bool { return strings.HasSuffix(s, p) },
		"contains":   func(sub, s string) bool { return strings.Contains(s, sub) },
		"splitList":  func(sep, s string) []string { return strings.Split(s, sep) },
		"split": func(sep, s string) map[string]string {
			m := map[string]string{}
			for i, p := range strings.Split(s, sep) {
				m[fmt.Sprintf("_%d", i)] = p
			}
			return m
		},
		"substr": func(start, end int, s string) string {
			if start < 0 {
				return s[:end]
			}
			if end < 0 || end > len(s) {
				return s[start:]
			}
			return s[start:end]
		},
		"squote": func(v ...interface{}) string {
			out := []string{}
			for _, x := range v {
				if x != nil {
					out = append(out, "'"+fmt.Sprint(x)+"'")
				}
			}
			return strings.Join(out, " ")
		},
		"add":        func(a, b interface{}) int64 { return toInt(a) + toInt(b) },
		"sub":        func(a, b interface{}) int64 { return toInt(a) - toInt(b) },
		"mul":        func(a, b interface{}) int64 { return toInt(a) * toInt(b) },
		"regexMatch": func(re, s string) bool { ok, _ := regexp.MatchString(re, s); return ok },
		"regexReplaceAll": func(re, s, repl string) string {
			return regexp.MustCompile(re).ReplaceAllString(s, repl)
		},
		"hasKey": func(m map[string]interface{}, k string) bool { _, ok := m[k]; return ok },
		"keys": func(m map[string]interface{}) []string {
			out := []string{}
			for k := range m {
				out = append(out, k)
			}
			return out
		},
		"cat": func(v ...interface{}) string {
			out := []string{}
			for _, x := range v {
				if x != nil {
					out = append(out, fmt.Sprint(x))
				}
			}
			return strings.Join(out, " ")
		},
		"ternary": func(a, b interface{}, c bool) interface{} {
			if c {
				return a
			}
			return b
		},
		"list": func(v ...interface{}) []interface{} { return v },
		"append": func(l interface{}, v interface{}) []interface{} {
			out := []interface{}{}
			r := reflect.ValueOf(l)
			if r.IsValid() && (r.Kind() == reflect.Slice || r.Kind() == reflect.Array) {
				for i := 0; i < r.Len(); i++ {
					out = append(out, r.Index(i).Interface())
				}
			}
			return append(out, v)
		},
		"without": func(l interface{}, omit ...interface{}) []interface{} {
			out := []interface{}{}
			r := reflect.ValueOf(l)
			for i := 0; r.IsValid() && i < r.Len(); i++ {
				e := r.Index(i).Interface()
				keep := true
				for _, o := range omit {
					if reflect.DeepEqual(e, o) {
						keep = false
					}
				}
				if keep {
					out = append(out, e)
				}
			}
			return out
		},
		"regexSplit": func(re, s string, n int) []string { return regexp.MustCompile(re).Split(s, n) },
		"sortAlpha": func(v interface{}) []string { l := strList(v); sort.Strings(l); return l },
		"toString":  func(v interface{}) string { return fmt.Sprint(v) },
	}
	tpl, err := template.New(path.Base(*tplPath)).Option("missingkey=default").Funcs(funcs).ParseFiles(*tplPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	if err := tpl.Execute(w, data); err != nil {
		if errors.Is(err, errAbort) {
			res.WriteFile = false
		} else {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(4)
		}
	}
	for _, f := range res.Files {
		f.Data = f.buf.String()
	}
	out, _ := json.Marshal(res)
	os.Stdout.Write(out)
}
