package live_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/collect"
	"github.com/vpnaudit/vpnaudit/audit/live"
	"github.com/vpnaudit/vpnaudit/correlate"
	"github.com/vpnaudit/vpnaudit/internal/mototest"
	"github.com/vpnaudit/vpnaudit/report"
)

// The seeded outage with its flow log delivered to S3 instead of
// CloudWatch Logs: read live from moto's S3 through the read-only clients,
// it gives the traffic the CloudWatch Logs flow log gave; recorded, it
// replays to the same report.
func TestS3FlowLogsAgainstMoto(t *testing.T) {
	s := mototest.Start(t)
	s.Env(t)
	ctx := context.Background()
	sc := mototest.Seed(ctx, t, s)
	cfg, err := live.LoadConfig(ctx, live.Options{Region: s.Region, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	// The traffic read from CloudWatch Logs, before the move.
	fromLogs, err := collect.Collect(ctx, live.Clients(cfg, live.Options{}), collect.Options{Alarm: mototest.AlarmName, Now: sc.Now, Region: s.Region, PushDown: collect.PushDownNever})
	if err != nil {
		t.Fatal(err)
	}

	// Move the flow log to S3 with ordinary (mutating) clients: the same
	// records, as AWS delivers them.
	wcfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(s.Region), config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	wec2, wlogs := ec2.NewFromConfig(wcfg), cloudwatchlogs.NewFromConfig(wcfg)
	ws3 := s3.NewFromConfig(wcfg, func(o *s3.Options) { o.UsePathStyle = true })
	const bucket = "flow-logs-archive" // moto takes no folder in the destination
	if _, err := ws3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(s.Region)}}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := wec2.DeleteFlowLogs(ctx, &ec2.DeleteFlowLogsInput{FlowLogIds: []string{sc.FlowLog}}); err != nil {
		t.Fatalf("DeleteFlowLogs: %v", err)
	}
	fl, err := wec2.CreateFlowLogs(ctx, &ec2.CreateFlowLogsInput{ResourceIds: []string{sc.DatacenterVPC}, ResourceType: ec2types.FlowLogsResourceTypeVpc,
		TrafficType: ec2types.TrafficTypeAll, LogDestinationType: ec2types.LogDestinationTypeS3, LogDestination: aws.String("arn:aws:s3:::" + bucket),
		MaxAggregationInterval: aws.Int32(60), LogFormat: aws.String(mototest.LogFormat)})
	if err != nil || len(fl.FlowLogIds) != 1 {
		var why []string
		if fl != nil {
			for _, u := range fl.Unsuccessful {
				why = append(why, aws.ToString(u.Error.Code)+": "+aws.ToString(u.Error.Message))
			}
		}
		t.Fatalf("CreateFlowLogs to S3: %v %v", err, why)
	}
	id := fl.FlowLogIds[0]
	header := strings.NewReplacer("${", "", "}", "").Replace(mototest.LogFormat)
	objects := map[string][]string{}
	p := cloudwatchlogs.NewFilterLogEventsPaginator(wlogs, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(sc.LogGroup)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			at := time.UnixMilli(aws.ToInt64(e.Timestamp)).UTC().Truncate(5 * time.Minute).Add(5 * time.Minute)
			key := fmt.Sprintf("AWSLogs/%s/vpcflowlogs/%s/%s/%s_vpcflowlogs_%s_%s_%s_%08x.log.gz", mototest.Account, s.Region,
				at.Format("2006/01/02"), mototest.Account, s.Region, id, at.Format("20060102T1504Z"), at.Unix())
			if objects[key] == nil {
				objects[key] = []string{header}
			}
			objects[key] = append(objects[key], aws.ToString(e.Message))
		}
	}
	for key, lines := range objects {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write([]byte(strings.Join(lines, "\n") + "\n"))
		w.Close()
		if _, err := ws3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes())}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
	}

	// Live, recorded.
	dir := filepath.Join(t.TempDir(), "incident")
	rec, err := live.NewRecorder(dir)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := collect.Collect(ctx, live.Clients(cfg, live.Options{Recorder: rec}), collect.Options{Alarm: mototest.AlarmName, Now: sc.Now, Region: s.Region})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(s.Region, ev.Account, sc.Now); err != nil {
		t.Fatal(err)
	}
	cov := audit.Coverage{}
	for _, c := range ev.Coverage {
		if c.Source == "flow-logs" {
			cov = c
		}
	}
	if cov.Status != audit.CoverageOK || !strings.Contains(cov.Detail, fmt.Sprintf("%s: ", id)) || !strings.Contains(cov.Detail, "read from s3://"+bucket) {
		t.Fatalf("flow-logs coverage %s: %s", cov.Status, cov.Detail)
	}
	strip := func(t audit.Traffic) audit.Traffic {
		t.FlowLogs = nil
		t.Records -= t.Unrelated
		t.Unrelated = 0
		// A copy: the evidence's own interfaces must keep their flow log
		// for the report compared below.
		t.Interfaces = append([]audit.InterfaceActivity(nil), t.Interfaces...)
		for i := range t.Interfaces {
			t.Interfaces[i].FlowLog = ""
		}
		return t
	}
	if diff := cmp.Diff(strip(fromLogs.Traffic), strip(ev.Traffic)); diff != "" {
		t.Errorf("traffic, CloudWatch Logs (-) vs S3 (+):\n%s", diff)
	}

	// Replayed.
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	replayed, err := collect.Collect(ctx, collect.BundleClients(b),
		collect.Options{Alarm: mototest.AlarmName, Now: b.Manifest.RecordedAt, Region: b.Manifest.Region})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(report.ToJSON(correlate.Correlate(ev)), report.ToJSON(correlate.Correlate(replayed))); diff != "" {
		t.Errorf("report of the replay differs from the live run's (-live +replay):\n%s", diff)
	}
}
