package awsdest

import (
	"net/url"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
)

// BenchmarkBuild measures serialising one 1 KiB record into the request
// each destination sends: the SendMessageBatch body, the PublishBatch form,
// the PutEvents body (with the entry's size), the Invoke call, the
// PutObject call (key: timestamp read, UUID; checksums).
func BenchmarkBuild(b *testing.B) {
	m := message("Success", 1024)
	b.Run("sqs", func(b *testing.B) {
		d := newDest(b, "arn:aws:sqs:us-east-1:123456789012:q.fifo", Options{}).(*sqsDest)
		b.ReportAllocs()
		for b.Loop() {
			in := struct {
				QueueUrl string
				Entries  []sqsMessage
			}{"https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo", []sqsMessage{d.sqsEntry("0", m)}}
			if _, err := sqsCall("SendMessageBatch", in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sns", func(b *testing.B) {
		d := newDest(b, "arn:aws:sns:us-east-1:123456789012:t.fifo", Options{}).(*snsDest)
		b.ReportAllocs()
		for b.Loop() {
			v := url.Values{"TopicArn": {d.target.Raw}}
			d.snsEntry(v, "PublishBatchRequestEntries.member.1.", m)
			_ = snsCall("PublishBatch", v, m.TraceID)
			_ = snsSize(m)
		}
	})
	b.Run("eventbridge", func(b *testing.B) {
		d := newDest(b, bus, Options{}).(*busDest)
		b.ReportAllocs()
		for b.Loop() {
			e := d.busEntry(m)
			_ = entrySize(e)
			if _, err := putEventsCall([]busEntry{e}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lambda", func(b *testing.B) {
		d := newDest(b, "arn:aws:lambda:us-east-1:123456789012:function:f", Options{}).(*lambdaDest)
		b.ReportAllocs()
		for b.Loop() {
			_ = d.invokeCall(m)
		}
	})
	b.Run("s3", func(b *testing.B) {
		d := newDest(b, "arn:aws:s3:::b", Options{}).(*s3Dest)
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := d.putObjectCall(m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSend measures one Send of a 1 KiB record (serialisation, SigV4,
// the answer's parsing) to a fake on the loopback interface.
func BenchmarkSend(b *testing.B) {
	m := message("Success", 1024)
	tests := []struct {
		name   string
		arn    string
		env    string
		server func(testing.TB) string
	}{
		{"sqs", "arn:aws:sqs:us-east-1:123456789012:q.fifo", "AWS_ENDPOINT_URL_SQS", func(tb testing.TB) string { return fakeaws.NewSQS(tb).URL }},
		{"sns", "arn:aws:sns:us-east-1:123456789012:t.fifo", "AWS_ENDPOINT_URL_SNS", func(tb testing.TB) string { return fakeaws.NewSNS(tb).URL }},
		{"eventbridge", bus, "AWS_ENDPOINT_URL_EVENTBRIDGE", func(tb testing.TB) string { return fakeaws.NewEventBridge(tb).URL }},
		{"lambda", "arn:aws:lambda:us-east-1:123456789012:function:f", "AWS_ENDPOINT_URL_LAMBDA", func(tb testing.TB) string { return fakeaws.NewLambda(tb).URL }},
		{"s3", "arn:aws:s3:::b", "AWS_ENDPOINT_URL_S3", func(tb testing.TB) string { return fakeaws.NewS3(tb, "b").URL }},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			awsEnv(b, tt.env, tt.server(b))
			d := newDest(b, tt.arn, Options{})
			ctx := ctxT(b)
			if err := d.Send(ctx, m); err != nil { // loads the configuration
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Send(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFirstUse measures what the first send pays once: reading the
// environment and building a client.
func BenchmarkFirstUse(b *testing.B) {
	awsEnv(b)
	b.Run("read the environment", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := NewConfig().Load(ctxT(b)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sqs client and queue URL", func(b *testing.B) {
		conf := NewConfig()
		b.ReportAllocs()
		for b.Loop() {
			d := newDest(b, "arn:aws:sqs:us-east-1:123456789012:q", Options{Config: conf}).(*sqsDest)
			if _, err := d.connect(ctxT(b)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
