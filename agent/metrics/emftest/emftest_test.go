package emftest

import (
	"fmt"
	"strings"
	"testing"
)

// doc builds a document from its parts, so that each case changes one.
func doc(ts, directives, root string) string {
	return `{"_aws":{"Timestamp":` + ts + `,"CloudWatchMetrics":[` + directives + `]}` + root + `}`
}

const (
	goodTS   = "1764195250412"
	goodDir  = `{"Namespace":"LambdaDestinations","Dimensions":[["FunctionName","Destination"]],"Metrics":[{"Name":"RecordsDelivered","Unit":"Count"},{"Name":"DeliveryLatency","Unit":"Milliseconds"}]}`
	goodRoot = `,"FunctionName":"fn","Destination":"stdout","RecordsDelivered":2,"DeliveryLatency":[1.5,20]`
)

func TestParseAccepts(t *testing.T) {
	d, err := Parse([]byte(doc(goodTS, goodDir, goodRoot)))
	if err != nil {
		t.Fatal(err)
	}
	if d.Timestamp.UnixMilli() != 1764195250412 || d.Dimensions["Destination"] != "stdout" ||
		fmt.Sprint(d.Values["DeliveryLatency"]) != "[1.5 20]" || d.Unit("DeliveryLatency") != "Milliseconds" {
		t.Errorf("read %+v", d)
	}
}

func TestParseRefuses(t *testing.T) {
	metricsN := func(n int) (string, string) {
		var defs, root []string
		for i := range n {
			defs = append(defs, fmt.Sprintf(`{"Name":"M%d","Unit":"Count"}`, i))
			root = append(root, fmt.Sprintf(`,"M%d":1`, i))
		}
		return `{"Namespace":"N","Dimensions":[["F"]],"Metrics":[` + strings.Join(defs, ",") + `]}`, `,"F":"f"` + strings.Join(root, "")
	}
	dims := func(n int) (string, string) {
		var keys, root []string
		for i := range n {
			keys = append(keys, fmt.Sprintf(`"D%d"`, i))
			root = append(root, fmt.Sprintf(`,"D%d":"v"`, i))
		}
		return `{"Namespace":"N","Dimensions":[[` + strings.Join(keys, ",") + `]],"Metrics":[{"Name":"M","Unit":"Count"}]}`, strings.Join(root, "") + `,"M":1`
	}
	values := func(n int) string {
		vs := strings.TrimSuffix(strings.Repeat("1,", n), ",")
		return `,"FunctionName":"fn","Destination":"stdout","RecordsDelivered":2,"DeliveryLatency":[` + vs + `]`
	}
	dir101, root101 := metricsN(101)
	dims31, dimsRoot31 := dims(31)
	big := doc(goodTS, goodDir, goodRoot+`,"padding":"`+strings.Repeat("x", 1<<20)+`"`)
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"not JSON", `{"_aws":`, "not valid JSON"},
		{"no _aws", `{"a":1}`, "no _aws"},
		{"timestamp in seconds", doc("1764195250", goodDir, goodRoot), "not epoch milliseconds"},
		{"timestamp with a fraction", doc("1764195250412.5", goodDir, goodRoot), "not a whole"},
		{"timestamp as a string", doc(`"1764195250412"`, goodDir, goodRoot), "not a whole"},
		{"no timestamp", `{"_aws":{"CloudWatchMetrics":[` + goodDir + `]}` + goodRoot + `}`, "Timestamp is missing"},
		{"no directives", doc(goodTS, "", goodRoot), "missing or empty"},
		{"unknown field in _aws", `{"_aws":{"Timestamp":1764195250412,"X":1,"CloudWatchMetrics":[` + goodDir + `]}` + goodRoot + `}`, "unknown field"},
		{"no namespace", doc(goodTS, strings.Replace(goodDir, `"Namespace":"LambdaDestinations",`, "", 1), goodRoot), "no Namespace"},
		{"AWS namespace", doc(goodTS, strings.Replace(goodDir, "LambdaDestinations", "AWS/Lambda", 1), goodRoot), "reserved"},
		{"namespace with a comma", doc(goodTS, strings.Replace(goodDir, "LambdaDestinations", "a,b", 1), goodRoot), "not allowed"},
		{"no dimensions", doc(goodTS, strings.Replace(goodDir, `"Dimensions":[["FunctionName","Destination"]],`, "", 1), goodRoot), "no Dimensions"},
		{"31 dimension keys", doc(goodTS, dims31, dimsRoot31), "31 keys, over 30"},
		{"dimension without its member", doc(goodTS, goodDir, strings.Replace(goodRoot, `"Destination":"stdout",`, "", 1)), "no member in the root"},
		{"dimension value not a string", doc(goodTS, goodDir, strings.Replace(goodRoot, `"stdout"`, "7", 1)), "not a string"},
		{"dimension value empty", doc(goodTS, goodDir, strings.Replace(goodRoot, `"stdout"`, `""`, 1)), "1 to 1024"},
		{"dimension value not ASCII", doc(goodTS, goodDir, strings.Replace(goodRoot, `"stdout"`, `"https://h/…"`, 1)), "not printable ASCII"},
		{"dimension value too long", doc(goodTS, goodDir, strings.Replace(goodRoot, `"stdout"`, `"`+strings.Repeat("a", 1025)+`"`, 1)), "1 to 1024"},
		{"101 metrics in a directive", doc(goodTS, dir101, root101), "101 metric definitions"},
		{"no metrics", doc(goodTS, `{"Namespace":"N","Dimensions":[["F"]],"Metrics":[]}`, `,"F":"f"`), "0 metric definitions"},
		{"metric without a unit", doc(goodTS, strings.Replace(goodDir, `,"Unit":"Count"`, "", 1), goodRoot), "want a Name and a Unit"},
		{"unknown unit", doc(goodTS, strings.Replace(goodDir, `"Count"`, `"Records"`, 1), goodRoot), "not a CloudWatch unit"},
		{"unknown field in a definition", doc(goodTS, strings.Replace(goodDir, `"Unit":"Count"`, `"Unit":"Count","Scale":2`, 1), goodRoot), "unknown field"},
		{"metric without its member", doc(goodTS, goodDir, strings.Replace(goodRoot, `,"RecordsDelivered":2`, "", 1)), "no member in the root"},
		{"metric value a string", doc(goodTS, goodDir, strings.Replace(goodRoot, `"RecordsDelivered":2`, `"RecordsDelivered":"2"`, 1)), "not a number"},
		{"101 values", doc(goodTS, goodDir, values(101)), "101 values"},
		{"no values", doc(goodTS, goodDir, values(0)), "0 values"},
		{"metric twice in a directive", doc(goodTS, strings.Replace(goodDir, `{"Name":"DeliveryLatency","Unit":"Milliseconds"}`, `{"Name":"RecordsDelivered","Unit":"Count"}`, 1), goodRoot), "twice in one directive"},
		{"metric named as a dimension", doc(goodTS, strings.Replace(goodDir, `"Name":"RecordsDelivered"`, `"Name":"Destination"`, 1), goodRoot), "also a dimension"},
		{"a key twice", doc(goodTS, goodDir, goodRoot+`,"RecordsDelivered":3`), "given twice"},
		{"over 1 MB", big, "over 1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse = %v, want an error saying %q", err, tt.want)
			}
		})
	}
	dir100, root100 := metricsN(100)
	dims30, dimsRoot30 := dims(30)
	for name, d := range map[string]string{
		"100 values":        doc(goodTS, goodDir, values(100)),
		"100 metrics":       doc(goodTS, dir100, root100),
		"30 dimension keys": doc(goodTS, dims30, dimsRoot30),
	} {
		if _, err := Parse([]byte(d)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestLines(t *testing.T) {
	output := "START RequestId: r1\n" + doc(goodTS, goodDir, goodRoot) + "\n" +
		`{"time":"t","msg":"execution record"}` + "\n" +
		"cut " + doc(goodTS, goodDir, goodRoot) + "\n"
	docs, errs := Lines(output)
	if len(docs) != 1 || len(errs) != 1 {
		t.Errorf("%d documents and %v; want 1 and the error of the line that does not start with one", len(docs), errs)
	}
}
