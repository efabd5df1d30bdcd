package routing

import (
	"strings"
	"testing"
)

// ec2Event is the example event of EventBridge's content-filtering guide.
const ec2Event = `{
  "version": "0",
  "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "111122223333",
  "time": "2017-12-22T18:43:48Z",
  "region": "us-west-1",
  "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0", "arn:aws:ec2:us-west-1:123456789012:instance/i-b188560f"],
  "detail": {
    "instance-id": "i-1234567890abcdef0",
    "state": "terminated",
    "c-count": 5,
    "d-count": 3,
    "x-limit": 301.8,
    "source-ip-address": "10.0.0.123",
    "FileName": "cat.PNG",
    "responseElements": null,
    "eventVersion": "",
    "tags": [{"key": "team", "value": "data"}, {"key": "env", "value": "prod"}],
    "path": "/usr/lib/x"
  }
}`

func TestPatternMatching(t *testing.T) {
	cases := []struct {
		name    string
		pattern string
		want    bool
	}{
		{"exact source", `{"source":["aws.ec2"]}`, true},
		{"exact source miss", `{"source":["aws.s3"]}`, false},
		{"values are ORed", `{"source":["aws.s3","aws.ec2"]}`, true},
		{"fields are ANDed", `{"source":["aws.ec2"],"detail":{"state":["running"]}}`, false},
		{"nested exact", `{"detail":{"state":["terminated"]}}`, true},
		{"exact number", `{"detail":{"c-count":[5]}}`, true},
		{"number equals in other notation", `{"detail":{"x-limit":[3.018e2]}}`, true},
		{"string is not number", `{"detail":{"c-count":["5"]}}`, false},
		{"null", `{"detail":{"responseElements":[null]}}`, true},
		{"empty string", `{"detail":{"eventVersion":[""]}}`, true},
		{"empty string is not null", `{"detail":{"responseElements":[""]}}`, false},
		{"array intersection", `{"resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-b188560f"]}`, true},
		{"array no intersection", `{"resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-nope"]}`, false},
		{"prefix", `{"time":[{"prefix":"2017-12-22"}]}`, true},
		{"prefix miss", `{"time":[{"prefix":"2018"}]}`, false},
		{"prefix ignore case", `{"detail-type":[{"prefix":{"equals-ignore-case":"ec2 INSTANCE"}}]}`, true},
		{"suffix", `{"detail":{"FileName":[{"suffix":".PNG"}]}}`, true},
		{"suffix is case sensitive", `{"detail":{"FileName":[{"suffix":".png"}]}}`, false},
		{"suffix ignore case", `{"detail":{"FileName":[{"suffix":{"equals-ignore-case":".png"}}]}}`, true},
		{"equals-ignore-case", `{"detail-type":[{"equals-ignore-case":"ec2 instance state-change notification"}]}`, true},
		{"wildcard", `{"resources":[{"wildcard":"arn:aws:ec2:*:instance/i-b*"}]}`, true},
		{"wildcard miss", `{"resources":[{"wildcard":"arn:aws:s3:*"}]}`, false},
		{"wildcard escaped star", `{"detail":{"FileName":[{"wildcard":"cat\\*"}]}}`, false},
		{"anything-but value", `{"detail":{"state":[{"anything-but":"initializing"}]}}`, true},
		{"anything-but same value", `{"detail":{"state":[{"anything-but":"terminated"}]}}`, false},
		{"anything-but list", `{"detail":{"state":[{"anything-but":["stopped","overloaded"]}]}}`, true},
		{"anything-but number", `{"detail":{"c-count":[{"anything-but":5}]}}`, false},
		{"anything-but prefix", `{"detail":{"state":[{"anything-but":{"prefix":"term"}}]}}`, false},
		{"anything-but suffix", `{"detail":{"FileName":[{"anything-but":{"suffix":".txt"}}]}}`, true},
		{"anything-but ignore case", `{"detail":{"state":[{"anything-but":{"equals-ignore-case":["Stopped","TERMINATED"]}}]}}`, false},
		{"anything-but wildcard", `{"detail":{"path":[{"anything-but":{"wildcard":"*/lib/*"}}]}}`, false},
		{"anything-but needs the field", `{"detail":{"missing":[{"anything-but":"x"}]}}`, false},
		{"numeric range", `{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}]}}`, true},
		{"numeric range miss", `{"detail":{"c-count":[{"numeric":[">",5]}]}}`, false},
		{"numeric equals", `{"detail":{"x-limit":[{"numeric":["=",3.018e2]}]}}`, true},
		{"numeric on a string", `{"detail":{"state":[{"numeric":[">",0]}]}}`, false},
		{"cidr", `{"detail":{"source-ip-address":[{"cidr":"10.0.0.0/24"}]}}`, true},
		{"cidr miss", `{"detail":{"source-ip-address":[{"cidr":"10.1.0.0/24"}]}}`, false},
		{"exists true", `{"detail":{"c-count":[{"exists":true}]}}`, true},
		{"exists false on present", `{"detail":{"c-count":[{"exists":false}]}}`, false},
		{"exists false on absent", `{"detail":{"z-count":[{"exists":false}]}}`, true},
		{"exists true on absent", `{"detail":{"z-count":[{"exists":true}]}}`, false},
		{"exists on null counts as present", `{"detail":{"responseElements":[{"exists":true}]}}`, true},
		{"$or first", `{"detail":{"$or":[{"c-count":[{"numeric":[">",0,"<=",5]}]},{"d-count":[{"numeric":["<",1]}]}]}}`, true},
		{"$or second", `{"detail":{"$or":[{"c-count":[{"numeric":[">",9]}]},{"x-limit":[{"numeric":["=",301.8]}]}]}}`, true},
		{"$or none", `{"detail":{"$or":[{"c-count":[{"numeric":[">",9]}]},{"d-count":[{"numeric":["<",1]}]}]}}`, false},
		{"$or with sibling", `{"source":["aws.ec2"],"$or":[{"region":["us-east-1"]},{"detail":{"state":["terminated"]}}]}`, true},
		{"array of objects", `{"detail":{"tags":{"key":["env"],"value":["prod"]}}}`, true},
		{"array of objects miss", `{"detail":{"tags":{"key":["owner"]}}}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Compile([]byte(c.pattern))
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.MatchJSON([]byte(ec2Event))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("pattern %s: got %v, want %v", c.pattern, got, c.want)
			}
		})
	}
}

func TestInvalidPatterns(t *testing.T) {
	cases := map[string]string{
		`[]`:                                "must be a JSON object",
		`{}`:                                "empty",
		`{"source":"aws.s3"}`:               "source: match values must be in an array",
		`{"source":[]}`:                     "empty arrays",
		`{"source":[{"prefix":1}]}`:         "source.prefix: takes a string",
		`{"source":[{"regex":"x"}]}`:        `unknown operator "regex"`,
		`{"n":[{"numeric":[">",1,">",2]}]}`: "at most one lower",
		`{"n":[{"numeric":["~",1]}]}`:       "unknown numeric operator",
		`{"n":[{"numeric":[">"]}]}`:         "takes [op, number]",
		`{"n":[{"exists":"yes"}]}`:          "exists takes true or false",
		`{"n":[{"anything-but":{"numeric":[">",1]}}]}`: "cannot be negated",
		`{"$or":[{"a":["x"]}]}`:                        "at least two",
		`{"n":[{"wildcard":"a**b"}]}`:                  "consecutive wildcard",
		`{"n":[{"cidr":"10.0.0.0/99"}]}`:               "cidr",
		`{"n":[{"prefix":"a","suffix":"b"}]}`:          "exactly one operator",
		`not json`:                                     "not JSON",
	}
	for pattern, want := range cases {
		_, err := Compile([]byte(pattern))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Compile(%s) = %v, want an error containing %q", pattern, err, want)
		}
	}
}

func TestWildcard(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"*", "abc", true}, {"a*", "abc", true}, {"*c", "abc", true},
		{"a*c", "ac", true}, {"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false},
		{"abc", "abc", true}, {"abc", "abcd", false}, {"a*a", "a", false}, {"\\*", "*", true},
	}
	for _, c := range cases {
		if got := wildcardMatch(c.p, c.s); got != c.want {
			t.Errorf("wildcard(%q, %q) = %v", c.p, c.s, got)
		}
	}
}
